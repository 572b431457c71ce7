#!/usr/bin/env bash
# Installs the real servers and clients the tests talk to, from Debian's packages, when they are missing:
# distribution's docker-registry, skopeo, podman, umoci, redis-server, htpasswd (apache2-utils), zstd.
set -euo pipefail

log() { printf '[test-deps] %s\n' "$*" >&2; }

declare -A package_for=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [podman]=podman
  [umoci]=umoci
  [redis-server]=redis-server
  [htpasswd]=apache2-utils
  [zstd]=zstd
  [python3]=python3
)
missing=()
for tool in "${!package_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_for[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

log "installing Debian packages: ${missing[*]}"
run_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run_root apt-get update -qq >&2
run_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
