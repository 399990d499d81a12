#!/usr/bin/env bash
# The README test command: installs what is missing, builds, runs every test (unit and end-to-end),
# then the sanitizer builds and the fuzz targets (docker/test_sanitizers.sh). Arguments go to the
# normal build's ctest, and then only that runs (a quick look at some tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash docker/build.sh
ctest --test-dir build --output-on-failure --timeout 900 "$@"
if [ $# -eq 0 ]; then
  bash docker/test_sanitizers.sh
fi
