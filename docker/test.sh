#!/usr/bin/env bash
# The README test command: installs what is missing, builds, runs every test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash docker/build.sh
ctest --test-dir build --output-on-failure --timeout 900 "$@"
