#!/usr/bin/env bash
# Installs what is missing, then configures and builds the project into build/ (ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash docker/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)"
