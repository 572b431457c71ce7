# Sourced by every script of the repository (and usable in a shell: `. scripts/node-env.sh`): puts a supported
# Node first on PATH, so that everything started from here on — pnpm's scripts and binaries, tsc, vitest and its
# workers, tsx, the CLI, the demo, the benches — runs on it.
#  - The machine's `node` when it satisfies `engines.node` of package.json (scripts/check-node.mjs).
#  - Otherwise Node 24 LTS from the npm registry (the `node-linux-<arch>` package, pinned below), installed once
#    into .tools/ of this checkout with the machine's npm. The machine's Node is never replaced.
# Also points native-addon builds (node-gyp) at that Node's headers, and leaves the machine's PATH in
# TOLLGATE_MACHINE_PATH for what must run on the machine's own Node (npm's global installs).
# Fails (returns 2) when no supported Node can be had.

TOLLGATE_NODE_VERSION=24.22.3

tollgate_node_env() {
  local root arch dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  export TOLLGATE_MACHINE_PATH="${TOLLGATE_MACHINE_PATH:-$PATH}"

  if command -v node >/dev/null 2>&1 && node "$root/scripts/check-node.mjs" 2>/dev/null; then
    return 0
  fi

  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) printf '[node-env] no Node build from the npm registry for %s: install Node 24 yourself\n' "$(uname -m)" >&2; return 2 ;;
  esac
  dir="$root/.tools/node_modules/node-linux-$arch"
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$TOLLGATE_NODE_VERSION" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      printf '[node-env] no supported Node on PATH and no npm to fetch one: install Node 24 (or 22.22.2+)\n' >&2
      return 2
    fi
    printf '[node-env] the machine'"'"'s Node (%s) is not supported: installing Node %s into .tools/ from the npm registry\n' \
      "$(node --version 2>/dev/null || echo none)" "$TOLLGATE_NODE_VERSION" >&2
    mkdir -p "$root/.tools"
    [ -f "$root/.tools/package.json" ] || printf '{"private": true}\n' >"$root/.tools/package.json"
    npm install --prefix "$root/.tools" --no-audit --no-fund --no-save --loglevel=error \
      "node-linux-$arch@$TOLLGATE_NODE_VERSION" >&2 || return 2
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  # node-gyp builds addons against these headers instead of downloading them (the registry is all we reach).
  [ -f "$dir/include/node/node_api.h" ] && export npm_config_nodedir="$dir"
  node "$root/scripts/check-node.mjs" || return 2
}

tollgate_node_env || { rc=$?; return "$rc" 2>/dev/null || exit "$rc"; }
