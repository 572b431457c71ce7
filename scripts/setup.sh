#!/usr/bin/env bash
# Installs what tollgate itself needs on a machine with npm: a supported Node (the machine's, or Node 24 into .tools/:
# scripts/node-env.sh), pnpm (pinned), the workspace's dependencies, and a build. Safe to run again: each step is
# skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh

log() { printf '[setup] %s\n' "$*" >&2; }
log "Node $(node --version) ($(command -v node))"

PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm ${PNPM_VERSION} with npm"
  # With the machine's own PATH: npm puts global installs beside the Node that runs it, and that is the machine's.
  if [ "$(id -u)" = 0 ] || [ -w "$(PATH="$TOLLGATE_MACHINE_PATH" npm prefix -g)/lib" ]; then
    PATH="$TOLLGATE_MACHINE_PATH" npm install -g --silent "pnpm@${PNPM_VERSION}" >&2
  else
    sudo env PATH="$TOLLGATE_MACHINE_PATH" npm install -g --silent "pnpm@${PNPM_VERSION}" >&2
  fi
  hash -r
fi

# Native addons (zstd-napi) build against the running Node's headers instead of downloading them: node-env.sh sets
# them for a Node from .tools/; a machine's Node installed under /usr has them in /usr/include/node.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ] && [ "$(command -v node)" = /usr/bin/node ]; then
  export npm_config_nodedir=/usr
fi

stamp=node_modules/.tollgate-install-stamp
if [ ! -f "$stamp" ] || [ pnpm-lock.yaml -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "installing dependencies with pnpm"
  pnpm install --frozen-lockfile --reporter=append-only >&2
  touch "$stamp"
fi

log "building"
pnpm exec tsc -b packages/core packages/proxy packages/cli >&2
# The CLI's bundle (a few files instead of ~250 modules for each command's start-up; bin/tollgate.js uses it when it
# is there, dist otherwise): scripts/bundle-cli.mjs.
node scripts/bundle-cli.mjs >&2
