#!/usr/bin/env bash
# Type-checks the tests, the benchmarks and vitest.config.ts against the packages' sources (tsconfig.test.json).
# vitest only strips types, so without this a test can drift from the API it tests and still run.
# On a type error it prints tsc's errors and the "0 passed, 1 failed" line CI reads, and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh

started=$(date +%s%N)
if ! pnpm exec tsc -p tsconfig.test.json; then
  printf '\n[typecheck] the tests do not type-check (errors above; run alone: npm run typecheck:tests)\n'
  printf '\n0 passed, 1 failed\n'
  exit 1
fi
printf '[typecheck] tests type-check (%d ms)\n' $(( ($(date +%s%N) - started) / 1000000 )) >&2
