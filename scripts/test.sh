#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, type-checks the tests, runs every test against real servers
# and clients.
# Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh
bash scripts/setup.sh
bash scripts/test-deps.sh
bash scripts/typecheck-tests.sh
exec pnpm exec vitest run "$@"
