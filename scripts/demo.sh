#!/usr/bin/env bash
# The main job: set up, then run `tollgate demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh
bash scripts/setup.sh
exec node packages/cli/bin/tollgate.js demo "$@"
