#!/usr/bin/env bash
# Gateway benchmark, one command:  bench/run.sh [--direct-only] [--no-governed] [--no-results] [-- gateway_bench args]
#
# Builds kafka-gateway and gateway_bench (Release, in build-release/ unless KGW_BUILD_DIR is set),
# starts the embedded broker and the gateways as separate processes on loopback, runs
# gateway_bench (3 alternating rounds of each case: direct, through the gateway, through the
# gateway's TLS listener (certificate made here with openssl), and through one governed gateway
# process per case of `gateway_bench --list-cases`: ACL-only, row filter, masking, masking +
# filter, encryption, observing, masking read by four groups; 1 KiB JSON records), then
# fetch_bench (pass-through Fetch v4-v16 through the gateway and through HAProxy, with a scripted
# broker), prints Markdown tables and records them in bench/RESULTS.md with the date and the machine.
#
#   --direct-only   skip every gateway (measures the broker alone; for checking the bench itself)
#   --no-governed   skip the governed gateways (direct, gateway and gateway TLS only)
#   --no-results    print only; leave bench/RESULTS.md alone
#   --cases "K ..." only these governed cases (kinds as in gateway_bench --list-cases), for
#                   iterating on one feature; a partial run never writes RESULTS.md
#   KGW_GATEWAY_BIN / KGW_BENCH_BIN   use these binaries instead of building (fetch_bench is
#                   taken from beside gateway_bench, or KGW_FETCH_BENCH_BIN)
#   KGW_BENCH_PORT  gateway listen port (default 19092; broker ports are the next 28; the TLS
#                   listener takes the 29 ports after those, and each governed gateway the next
#                   30 (its listener, its broker ports, its admin listener))
#
# Loopback only; bounded: every wait has a timeout and gateway_bench limits each phase to 60 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KGW_BUILD_DIR:-$root/build-release}
direct_only=0
governed=1
write_results=1
bench_args=()
only_cases=""
while (($#)); do
  case $1 in
    --direct-only) direct_only=1 ;;
    --no-governed) governed=0 ;;
    --no-results) write_results=0 ;;
    --cases) shift; only_cases=" ${1:-} "; write_results=0 ;;
    --) shift; bench_args=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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
  cmake --build "$build" -j2 --target kafka-gateway gateway_bench fetch_bench >&2
fi
fetch_bin=${KGW_FETCH_BENCH_BIN:-$(dirname "$bench_bin")/fetch_bench}
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)

port=${KGW_BENCH_PORT:-19092}
work=$(mktemp -d /tmp/kgw-bench.XXXXXX)
broker_pid=""
gateway_pids=()
cleanup() {
  # Stop only what this script started, by pid.
  local pid
  for pid in "${gateway_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${gateway_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n $broker_pid ]] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The governed cases: "KIND TOPIC" lines; gateway_bench owns their policies (--print-policy).
cases=()
if ((direct_only == 0 && governed == 1)); then
  mapfile -t cases < <("$bench_bin" --list-cases)
  ((${#cases[@]})) || { echo "run.sh: $bench_bin --list-cases printed nothing" >&2; exit 1; }
  if [[ -n $only_cases ]]; then
    chosen=()
    for c in "${cases[@]}"; do [[ $only_cases == *" ${c%% *} "* ]] && chosen+=("$c"); done
    ((${#chosen[@]})) || { echo "run.sh: --cases '$only_cases' names none of: ${cases[*]%% *}" >&2; exit 2; }
    cases=("${chosen[@]}")
  fi
fi

# 1. The broker, in its own process. Its first stdout line is the bootstrap list.
topics=(--topic bench-direct:48 --topic bench-gw:48 --topic bench-tls:48)
for c in "${cases[@]}"; do topics+=(--topic "${c#* }:48"); done
mkfifo "$work/broker.out"
"$gw_bin" dev-cluster --brokers 3 "${topics[@]}" >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
exec 4<"$work/broker.out"
if ! read -r -t 10 upstream <&4 || [[ -z $upstream ]]; then
  echo "run.sh: the embedded broker did not start:" >&2; cat "$work/broker.err" >&2; exit 1
fi
echo "broker (pid $broker_pid): $upstream" >&2

# start_gateway NAME LISTEN_PORT: runs kafka-gateway with $work/NAME.yaml, waits (10 s at most)
# until it listens; sets started_pid.
start_gateway() {
  local name=$1 listen=$2
  "$gw_bin" --config "$work/$name.yaml" 2>"$work/$name.err" &
  started_pid=$!
  gateway_pids+=("$started_pid")
  for _ in $(seq 100); do
    port_busy "$listen" && break
    kill -0 "$started_pid" 2>/dev/null || { echo "run.sh: gateway $name exited:" >&2; cat "$work/$name.err" >&2; exit 1; }
    sleep 0.1
  done
  port_busy "$listen" || { echo "run.sh: gateway $name is not listening on $listen after 10 s" >&2; exit 1; }
  echo "gateway $name (pid $started_pid): 127.0.0.1:$listen, config $work/$name.yaml" >&2
}

# gateway_yaml LISTEN_PORT [LINES]: the settings every bench gateway shares (one plain
# listener), and LINES for its `gateway:` section.
gateway_yaml() {
  echo "gateway:"
  echo "  advertised_host: 127.0.0.1"
  echo "  workers: 1"
  echo "  log_level: warn"
  [[ -n ${2:-} ]] && printf '%s' "$2"
  echo "listeners:"
  echo "  - name: plain"
  echo "    listen: 127.0.0.1:$1"
  echo "    broker_ports: $(($1 + 1))-$(($1 + 28))"
}

# 2. The gateways, each in its own process, configured with the YAML shape from the README.
args=(--direct "$upstream" --broker-pid "$broker_pid")
if ((direct_only == 0)); then
  tls_port=$((port + 29))
  last_port=$((port + 57 + 30 * ${#cases[@]} + 12))  # + fetch_bench's 12
  for ((p = port; p <= last_port; p++)); do
    if port_busy "$p"; then echo "run.sh: 127.0.0.1:$p is in use (the bench needs $port-$last_port; set KGW_BENCH_PORT)" >&2; exit 1; fi
  done
  # A throw-away certificate for the TLS listener (P-256, names 127.0.0.1); clients trust it as CA.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null
  {
    gateway_yaml "$port"
    echo "  - name: tls"
    echo "    listen: 127.0.0.1:$tls_port"
    echo "    broker_ports: $((tls_port + 1))-$((tls_port + 28))"
    echo "    security_protocol: SSL"
    echo "    tls: { certificate: $work/tls.pem, key: $work/tls.key }"
    echo "upstream:"
    echo "  bootstrap: [${upstream//,/, }]"
  } >"$work/gateway.yaml"
  start_gateway gateway "$port"
  args+=(--gateway "127.0.0.1:$port" --gateway-pid "$started_pid" --gateway-tls "127.0.0.1:$tls_port" --tls-ca "$work/tls.pem")

  # One gateway process per policy, each on its own 30 ports, all in front of the same broker.
  # The encryption cases' KEK file (their policies name it; a throw-away key, mode 600).
  (umask 077; printf 'bench-kek %s\n' "$(head -c 32 /dev/urandom | base64)" >"$work/bench-keks")
  case_port=$((port + 58))
  for c in "${cases[@]}"; do
    kind=${c%% *}
    {
      gateway_yaml "$case_port" "$("$bench_bin" --print-gateway "$kind")"$'\n'
      echo "upstream:"
      echo "  bootstrap: [${upstream//,/, }]"
      KGW_BENCH_ADMIN_PORT=$((case_port + 29)) "$bench_bin" --print-policy "$kind"
    } >"$work/gateway-$kind.yaml"
    start_gateway "gateway-$kind" "$case_port"
    args+=(--case "$kind=127.0.0.1:$case_port@$started_pid")
    case_port=$((case_port + 30))
  done
fi

# 3. The measurement.
status=0
timeout 450 "$bench_bin" "${args[@]}" "${bench_args[@]}" | tee "$work/table.md" || status=$?
for err in "$work"/gateway*.err; do
  [[ -s $err ]] || continue
  echo "--- $(basename "$err" .err) stderr (last lines)" >&2; tail -5 "$err" >&2
done
((status == 0)) || { echo "run.sh: gateway_bench failed (exit $status)" >&2; exit "$status"; }
# Every Fetch version, gateway against HAProxy, with a scripted broker (the embedded one stops at
# v11): its own gateway process and ports, after the ones above.
if ((direct_only == 0)); then
  ha_args=()
  [[ -x $haproxy_bin ]] && ha_args=(--haproxy-bin "$haproxy_bin")
  echo >>"$work/table.md"
  timeout 300 "$fetch_bin" --gateway-bin "$gw_bin" --port $((last_port - 11)) "${ha_args[@]}" | tee -a "$work/table.md" ||
    { echo "run.sh: fetch_bench failed" >&2; exit 1; }
fi

# 4. Record it: RESULTS.md keeps the newest run between the markers (older runs: git history).
if ((write_results)); then
  results=$root/bench/RESULTS.md
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
  if ((direct_only)); then mode="direct only (no gateway)"
  elif ((governed)); then mode="direct vs gateway (plaintext, TLS, ACL-only, row filter, masking, masking + filter, encryption, quotas+metrics+audit, masking read by 4 groups)"
  else mode="direct vs gateway vs gateway over TLS"; fi
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
