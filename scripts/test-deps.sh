#!/usr/bin/env bash
# Installs the real servers and clients the tests talk to, from Debian's packages, when they are missing:
# distribution's docker-registry, skopeo, podman, umoci, redis-server, htpasswd (apache2-utils), zstd, and a
# single-node Ceph for the S3 blob store's tests (radosgw with its monitor and OSD: scripts/ceph-rgw.sh), containerd
# (its own daemon per test: test/support/containerd.ts), and — when the machine's apt has it — kubectl (Debian's
# kubernetes-client) for rendering deploy/kubernetes; without kubectl that test is skipped with the reason. SoftHSM2
# (a real PKCS#11 token, initialised by each test in a temp dir) and OpenSC's pkcs11-tool for the PKCS#11 key tests.
# Debian's chromium for the dashboard's browser tests (driven by playwright-core; no browser is ever downloaded).
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
  [radosgw]="ceph-mon ceph-osd radosgw ceph-common"
  [containerd]=containerd
  [softhsm2-util]=softhsm2
  [pkcs11-tool]=opensc
  [chromium]=chromium
)
missing=()
for tool in "${!package_for[@]}"; do
  # A tool may need several packages (radosgw: the whole single-node cluster), listed space-separated.
  if ! command -v "$tool" >/dev/null 2>&1; then
    read -ra packages <<<"${package_for[$tool]}"
    missing+=("${packages[@]}")
  fi
done
run_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  run_root apt-get update -qq >&2
  run_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Optional: a failure to install it only skips the test that renders the manifests.
if ! command -v kubectl >/dev/null 2>&1; then
  log "installing kubernetes-client (kubectl kustomize) if apt has it"
  run_root apt-get install -y -qq --no-install-recommends kubernetes-client >&2 || log "kubernetes-client is not installable here: the kustomize rendering test will be skipped"
fi
