#!/usr/bin/env bash
# Runs a command with the project's Node first on PATH (scripts/node-env.sh): `bash scripts/with-node.sh CMD ARGS…`.
# npm starts its scripts with the machine's Node on PATH; the package.json scripts go through here instead.
set -euo pipefail
. "$(dirname "$0")/node-env.sh"
exec "$@"
