#!/usr/bin/env bash
# Runs the fuzz targets for longer than CI does (docker/test_sanitizers.sh gives each 20 s):
#   bash tests/fuzz/run.sh                       every target, 300 s each
#   bash tests/fuzz/run.sh --long 3600 sasl json  those targets, an hour each
# Builds build-fuzz (clang 16, ASan + UBSan, libFuzzer, -O1: faster than CI's -O0 build-asan)
# when needed, writes the seed corpora, and keeps what each target finds in
# build-fuzz/tests/fuzz/corpus/<target> (later runs start from it). A broken property or
# sanitizer report stops that target and leaves the input in build-fuzz/tests/fuzz/artifacts/;
# replay it with
#   build-fuzz/tests/fuzz/fuzz_<target> <that file>
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=300
if [ "${1:-}" = "--long" ]; then
  seconds="$2"
  shift 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request_codec response_rewrite record_batch governed_fetch json row_filter sasl config)
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 -DKGW_SANITIZE=address,undefined -DKGW_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_seed_writer "${targets[@]/#/fuzz_}"
dir=build-fuzz/tests/fuzz
"$dir/fuzz_seed_writer" "$dir/seeds" config/examples
status=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t" "$dir/artifacts"
  echo "== $t: ${seconds}s"
  rc=0
  "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "$dir/seeds/$t" >"$dir/$t.log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|new_units_added)|FUZZ PROPERTY|ERROR:|SUMMARY|runtime error|Test unit written' \
    "$dir/$t.log" || true
  [ $rc -eq 0 ] || { echo "== $t FAILED (exit $rc, log $dir/$t.log)"; status=1; }
done
exit $status
