#!/usr/bin/env bash
# The benchmarks (bench/run.ts), on the project's Node, after set-up and the tools they compare against.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh
bash scripts/setup.sh
bash scripts/test-deps.sh
exec pnpm exec tsx bench/run.ts "$@"
