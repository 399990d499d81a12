#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, test and run the demo.
# Idempotent: does nothing (no apt-get call at all) when everything is already installed.
set -euo pipefail
pkgs=(
  build-essential cmake ccache pkg-config
  libboost1.81-dev librdkafka-dev libssl-dev libyaml-cpp-dev libspdlog-dev catch2
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libp11-kit-dev softhsm2
  kcat python3 python3-kafka python3-confluent-kafka openssl
  python3-snappy python3-lz4 python3-zstandard
  prometheus  # promtool and a Prometheus server: the metrics tests start their own on loopback
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
