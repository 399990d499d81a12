#!/usr/bin/env bash
# The README test command: installs what is missing, builds, runs every test (unit and end-to-end),
# then the sanitizer builds and the fuzz targets (docker/test_sanitizers.sh). Arguments go to the
# normal build's ctest, and then only that runs (a quick look at some tests).
#
# The end-to-end tests spend most of their time waiting on sockets and clients, so the sanitizer
# trees build meanwhile at idle priority (SCHED_IDLE: they get only CPU time nothing else wants,
# log in build/sanitizer-build.log). The tests labelled "timing" (latencies and rates) run after that
# build, on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash docker/build.sh
if [ $# -gt 0 ]; then
  exec ctest --test-dir build --output-on-failure --timeout 900 "$@"
fi

idle=(chrt --idle 0)
"${idle[@]}" true 2>/dev/null || idle=(nice -n 19)
# Its own process group (setsid), so that a failed test stops the whole build with it.
setsid "${idle[@]}" bash docker/test_sanitizers.sh build >build/sanitizer-build.log 2>&1 &
sanitizer_build=$!
trap 'kill -- -"$sanitizer_build" 2>/dev/null || true' EXIT

ctest --test-dir build --output-on-failure --timeout 900 -LE timing
status=0
wait "$sanitizer_build" || status=$?
trap - EXIT
if [ "$status" -ne 0 ]; then
  tail -n 60 build/sanitizer-build.log
  echo "the sanitizer build failed (exit $status): build/sanitizer-build.log" >&2
  exit "$status"
fi
ctest --test-dir build --output-on-failure --timeout 900 -L timing
bash docker/test_sanitizers.sh test
