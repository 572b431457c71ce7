#!/usr/bin/env bash
# Builds the tollgate image from deploy/Dockerfile on a machine that cannot pull a base image (no registry outside
# the machine is reachable, no Docker engine): makes a Node 24 base locally — a Debian 12 minbase root filesystem from
# debootstrap, the project's Node 24 (scripts/node-env.sh) and the machine's npm — imports it into podman as
# localhost/tollgate-node-base:24 (once; TOLLGATE_REBUILD_BASE=1 makes it again), then runs `podman build` with it
# as NODE_IMAGE (the build stage still installs pnpm and the dependencies from the npm registry, so --network host).
# Prints the image's id on stdout at the end. Needs root, podman, debootstrap (apt-get install -y
# podman debootstrap). Takes a few minutes; the test suite does not run it (test/deploy/image.test.ts checks an
# image it built, when TOLLGATE_IMAGE names one).
# Usage: scripts/build-image.sh [TAG]    (default localhost/tollgate:dev)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh

TAG=${1:-localhost/tollgate:dev}
BASE=localhost/tollgate-node-base:24
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { printf '[build-image] %s\n' "$*" >&2; }

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: apt-get install -y $tool"; exit 2; }
done
[ "$(id -u)" = 0 ] || { log "run as root (debootstrap and podman import need it)"; exit 2; }

if [ "${TOLLGATE_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE"; then
  work=$(mktemp -d /var/tmp/tollgate-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  log "making $BASE: debootstrap --variant=minbase bookworm (about 30 s)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rootfs=$work/rootfs
  install -D -m 0755 "$(command -v node)" "$rootfs/usr/local/bin/node"
  # Node's headers, where the official node images have them (native addons build against them).
  mkdir -p "$rootfs/usr/local/include"
  cp -a "$(dirname "$(dirname "$(command -v node)")")/include/node" "$rootfs/usr/local/include/node"
  # npm, as the official node images carry it (the Dockerfile's build stage installs pnpm with it).
  npm_dir=$(PATH="$TOLLGATE_MACHINE_PATH" npm root -g)/npm
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -cf - . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$BASE" >/dev/null
  log "$BASE: Node $("$rootfs/usr/local/bin/node" --version), npm $(PATH="$TOLLGATE_MACHINE_PATH" npm --version)"
fi

# The committed tree (git archive HEAD), not the working tree: what is built is what a commit names, whatever is
# being edited beside it. TOLLGATE_BUILD_CONTEXT=worktree builds the working tree instead.
if [ "${TOLLGATE_BUILD_CONTEXT:-head}" = worktree ]; then
  context=$PWD
else
  snapshot=$(mktemp -d /var/tmp/tollgate-context.XXXXXX)
  trap 'rm -rf "$snapshot" ${work:+"$work"}' EXIT
  git archive --format=tar HEAD | tar -C "$snapshot" -xf -
  context=$snapshot
  log "building $(git rev-parse --short HEAD)"
fi
log "podman build -f deploy/Dockerfile --build-arg NODE_IMAGE=$BASE -t $TAG"
# runc rather than crun, and cgroupfs: crun refuses this machine kind's hybrid cgroups ("cgroups in hybrid mode not
# supported"), with limits this machine kind allows.
RUNTIME=(--cgroup-manager cgroupfs)
# The machine's CA bundle as the build secret `ca` (deploy/Dockerfile): npm and pnpm reach the registry through
# whatever TLS-inspecting proxy the machine trusts; the bundle is not copied into the image.
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
SECRET=()
[ -f "$CA_BUNDLE" ] && SECRET=(--secret "id=ca,src=$CA_BUNDLE")
podman "${RUNTIME[@]}" build "${SECRET[@]}" --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network host --pull=never -f "$context/deploy/Dockerfile" --build-arg NODE_IMAGE="$BASE" -t "$TAG" "$context" >&2
podman "${RUNTIME[@]}" run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --rm --network none "$TAG" --version >&2
podman image inspect --format '{{.Id}}' "$TAG"
