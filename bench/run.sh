#!/usr/bin/env bash
# Gateway benchmark, one command:  bench/run.sh [--direct-only] [--no-results] [-- gateway_bench args]
#
# Builds kafka-gateway and gateway_bench (Release, in build-release/ unless KGW_BUILD_DIR is set),
# starts the embedded broker and the gateway as two separate processes on loopback, runs
# gateway_bench (3 alternating rounds each of direct, through the gateway, and through the
# gateway's TLS listener (certificate made here with openssl), 1 KiB records),
# prints a Markdown table and records it in bench/RESULTS.md with the date and the machine.
#
#   --direct-only   skip the gateway (measures the broker alone; for checking the bench itself)
#   --no-results    print only; leave bench/RESULTS.md alone
#   KGW_GATEWAY_BIN / KGW_BENCH_BIN   use these binaries instead of building
#   KGW_BENCH_PORT  gateway listen port (default 19092; broker ports are the next 28; the TLS
#                   listener takes the 29 ports after those)
#
# Loopback only; bounded: every wait has a timeout and gateway_bench limits each phase to 60 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KGW_BUILD_DIR:-$root/build-release}
direct_only=0
write_results=1
bench_args=()
while (($#)); do
  case $1 in
    --direct-only) direct_only=1 ;;
    --no-results) write_results=0 ;;
    --) shift; bench_args=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

gw_bin=${KGW_GATEWAY_BIN:-$build/gateway/kafka-gateway}
bench_bin=${KGW_BENCH_BIN:-$build/bench/gateway_bench}
if [[ -z ${KGW_GATEWAY_BIN:-} || -z ${KGW_BENCH_BIN:-} ]]; then
  if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" -j2 --target kafka-gateway gateway_bench >&2
fi

port=${KGW_BENCH_PORT:-19092}
work=$(mktemp -d /tmp/kgw-bench.XXXXXX)
broker_pid="" gateway_pid=""
cleanup() {
  # Stop only what this script started, by pid.
  [[ -n $gateway_pid ]] && kill -TERM "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null || true
  [[ -n $broker_pid ]] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 1. The broker, in its own process. Its first stdout line is the bootstrap list.
mkfifo "$work/broker.out"
"$gw_bin" dev-cluster --brokers 3 --topic bench-direct:48 --topic bench-gw:48 --topic bench-tls:48 \
  >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
exec 4<"$work/broker.out"
if ! read -r -t 10 upstream <&4 || [[ -z $upstream ]]; then
  echo "run.sh: the embedded broker did not start:" >&2; cat "$work/broker.err" >&2; exit 1
fi
echo "broker (pid $broker_pid): $upstream" >&2

# 2. The gateway, in its own process, configured with the YAML shape from the README.
args=(--direct "$upstream" --broker-pid "$broker_pid")
if ((direct_only == 0)); then
  if port_busy "$port"; then echo "run.sh: 127.0.0.1:$port is in use (set KGW_BENCH_PORT)" >&2; exit 1; fi
  tls_port=$((port + 29))
  # A throw-away certificate for the TLS listener (P-256, names 127.0.0.1); clients trust it as CA.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null
  {
    echo "gateway:"
    echo "  advertised_host: 127.0.0.1"
    echo "  workers: 1"
    echo "  log_level: warn"
    echo "listeners:"
    echo "  - name: plain"
    echo "    listen: 127.0.0.1:$port"
    echo "    broker_ports: $((port + 1))-$((port + 28))"
    echo "  - name: tls"
    echo "    listen: 127.0.0.1:$tls_port"
    echo "    broker_ports: $((tls_port + 1))-$((tls_port + 28))"
    echo "    security_protocol: SSL"
    echo "    tls: { certificate: $work/tls.pem, key: $work/tls.key }"
    echo "upstream:"
    echo "  bootstrap: [${upstream//,/, }]"
  } >"$work/gateway.yaml"
  "$gw_bin" --config "$work/gateway.yaml" 2>"$work/gateway.err" &
  gateway_pid=$!
  for _ in $(seq 100); do
    port_busy "$port" && break
    kill -0 "$gateway_pid" 2>/dev/null || { echo "run.sh: the gateway exited:" >&2; cat "$work/gateway.err" >&2; exit 1; }
    sleep 0.1
  done
  port_busy "$port" || { echo "run.sh: the gateway is not listening on $port after 10 s" >&2; exit 1; }
  echo "gateway (pid $gateway_pid): 127.0.0.1:$port, config $work/gateway.yaml" >&2
  args+=(--gateway "127.0.0.1:$port" --gateway-pid "$gateway_pid" --gateway-tls "127.0.0.1:$tls_port" --tls-ca "$work/tls.pem")
fi

# 3. The measurement.
timeout 450 "$bench_bin" "${args[@]}" "${bench_args[@]}" | tee "$work/table.md"
if ((direct_only == 0)) && [[ -s $work/gateway.err ]]; then
  echo "--- gateway stderr (last lines)" >&2; tail -5 "$work/gateway.err" >&2
fi

# 4. Record it: RESULTS.md keeps the newest run between the markers (older runs: git history).
if ((write_results)); then
  results=$root/bench/RESULTS.md
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
  mode=$([[ $direct_only == 1 ]] && echo "direct only (no gateway)" || echo "direct vs gateway vs gateway over TLS")
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
  [[ -n ${KGW_GATEWAY_BIN:-} ]] && build_type="prebuilt $gw_bin"
  {
    echo "<!-- bench:begin -->"
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $mode, commit $rev, build ${build_type:-unknown}; machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -r)."
    echo
    cat "$work/table.md"
    echo "<!-- bench:end -->"
  } >"$work/block.md"
  if [[ -f $results ]] && grep -q '<!-- bench:begin -->' "$results"; then
    python3 - "$results" "$work/block.md" <<'PY'
import re, sys
path, block = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
text = open(path).read()
text = re.sub(r"<!-- bench:begin -->.*?<!-- bench:end -->", lambda _: block, text, count=1, flags=re.S)
open(path, "w").write(text)
PY
  else
    { echo "# Benchmark results"; echo; echo "Produced by \`bench/run.sh\`; see bench/gateway_bench.cpp for what is measured."; echo; cat "$work/block.md"; } >"$results"
  fi
  echo "results written to $results" >&2
fi
