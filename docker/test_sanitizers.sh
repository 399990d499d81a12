#!/usr/bin/env bash
# The sanitizer part of the README test command (docker/test.sh runs it after the normal tests):
# clang 16 builds in build-asan and build-tsan (never build/), then
#   build-asan (ASan + UBSan, libFuzzer coverage): the seed corpora, each fuzz target for
#              KGW_FUZZ_SECONDS (default 20), the unit tests, and the e2e tests of the relay and
#              librdkafka through it (tests/e2e: e2e_sanitizer_tests);
#   build-tsan (TSan): the relay and librdkafka e2e tests, whose gateway runs two workers.
# Any sanitizer report fails the run: nothing recovers (-fno-sanitize-recover=all) and every
# sanitizer halts on its first error. Budget (2 cores, no ccache): about 17 minutes cold; the
# subsets below are chosen for it (the commit that added this script gives the measured times).
#   KGW_SANITIZE_JOBS=N   build parallelism (default: nproc)
# With "build" it only configures and builds both trees, with "test" it only runs what they built
# (docker/test.sh builds them beside the normal tests); with no argument it does both.
set -euo pipefail
mode="${1:-all}"
cd "$(dirname "$0")/.."
jobs="${KGW_SANITIZE_JOBS:-$(nproc)}"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/support/tsan.supp"
# Line tables only: reports keep file:line at little build cost. Both at -O0, which compiles in
# about half the time of -O1 (the CI budget): the fuzzers then run a few times slower, still
# some 100,000 executions per target in their 20 s; long runs (tests/fuzz/run.sh) build -O1.
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16)

unit_tests=(protocol_tests record_batch_tests policy_view_tests policy_acl_tests config_tests gateway_tests)
fuzz_targets=(request_codec response_rewrite record_batch governed_fetch json row_filter sasl config)

build() {
  cmake -S . -B build-asan "${common[@]}" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -gline-tables-only" \
    -DKGW_SANITIZE=address,undefined -DKGW_FUZZ=ON \
    -DKGW_FUZZ_SECONDS="${KGW_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build build-asan -j"$jobs" --target "${unit_tests[@]}" e2e_sanitizer_tests fuzz_seed_writer \
    "${fuzz_targets[@]/#/fuzz_}"
  cmake -S . -B build-tsan "${common[@]}" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -gline-tables-only" \
    -DKGW_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j"$jobs" --target e2e_sanitizer_tests
}

run() {
  # Fuzzers first (two at a time: each is one process), then the unit tests, then e2e tests.
  ctest --test-dir build-asan --output-on-failure -j2 -L fuzz
  ctest --test-dir build-asan --output-on-failure -j2 -R "^($(IFS='|'; echo "${unit_tests[*]}"))\$"
  ctest --test-dir build-asan --output-on-failure -L sanitized-e2e
  ctest --test-dir build-tsan --output-on-failure -R '^sanitized e2e: ?(relay|librdkafka)'
}

case "$mode" in
  build) build ;;
  test) run ;;
  all) build; run ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac
