#!/usr/bin/env bash
# Installs what is missing, then configures and builds the project into build/ (ccache when present).
#   BUILD_TYPE=Release       the CMake build type (default RelWithDebInfo)
#   BUILD_TARGET=kafka-gateway  only that target, after installing only what building needs
#                               (the container image's build stage)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BUILD_TARGET:-}" ]; then bash docker/setup.sh --build-only; else bash docker/setup.sh; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
