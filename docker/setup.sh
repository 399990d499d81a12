#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, test and run the demo.
# Idempotent: does nothing (no apt-get or npm call at all) when everything is already installed.
#   setup.sh --build-only   what building the gateway needs, nothing for tests or the demo (the
#                           container image's build stage)
set -euo pipefail
build_only=0
[ "${1:-}" = "--build-only" ] && build_only=1
pkgs=(
  build-essential cmake ccache pkg-config git
  libboost1.81-dev librdkafka-dev libssl-dev libyaml-cpp-dev libspdlog-dev catch2
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libp11-kit-dev python3
)
[ $build_only = 1 ] || pkgs+=(
  softhsm2 kcat python3-kafka python3-confluent-kafka openssl
  python3-snappy python3-lz4 python3-zstandard
  # The sanitizer and fuzz builds (tests/fuzz/): clang 16, whose libc++-free build reads
  # libstdc++ 12's <expected> (clang 14 cannot), and its libFuzzer and sanitizer runtimes.
  clang-16 libclang-rt-16-dev
  prometheus  # promtool and a Prometheus server: the metrics tests start their own on loopback
  # The container tests (docker/test_image.sh): podman with runc, debootstrap for the base
  # image where no registry is reachable, catatonit for pods' infra containers; HAProxy in front
  # of the fleet test's gateways.
  podman runc debootstrap catatonit uidmap fuse-overlayfs slirp4netns haproxy python3-yaml
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (the audit tests validate events with the CloudEvents JavaScript SDK). A
# machine that has them from elsewhere (NodeSource bundles npm in its nodejs) keeps them.
[ $build_only = 1 ] || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ $build_only = 1 ] && exit 0
# The CloudEvents SDK, at the version package-lock.json pins, from the npm registry.
ce="$(dirname "$0")/../tests/e2e/cloudevents"
if [ ! -d "$ce/node_modules/cloudevents" ]; then
  echo "setup: installing the CloudEvents SDK for the audit tests (npm ci)" >&2
  (cd "$ce" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
