#!/usr/bin/env bash
# Installs what tollgate itself needs on a machine with Node 20 and npm: pnpm (pinned), the workspace's
# dependencies, and a build. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)'; then
  log "Node ${node_version} is too old: tollgate needs Node 20.18 or newer"
  exit 2
fi

PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm ${PNPM_VERSION} with npm"
  if [ "$(id -u)" = 0 ] || [ -w "$(npm prefix -g)/lib" ]; then
    npm install -g --silent "pnpm@${PNPM_VERSION}" >&2
  else
    sudo npm install -g --silent "pnpm@${PNPM_VERSION}" >&2
  fi
fi

# Native addons (zstd-napi) build against the machine's Node headers when they are installed with Node,
# instead of downloading them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
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
