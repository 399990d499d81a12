#!/usr/bin/env bash
# The README demo: installs what is missing, builds, then runs the shared-customers scenario
# (config/examples/shared-customers.yaml). The gateway starts an embedded 3-broker Kafka
# as its child process; `ingest` writes customers through it with kcat (five compression codecs); then
# marketing, analytics, sales and fraud each read the same topic with kcat, in a consumer group
# of their own, and each gets its own view. Finally ingest tries to read and is refused.
#
# Environment: DEMO_CUSTOMERS_PER_CODEC (default 200) customers per codec; KGW_GATEWAY to run an
# already built kafka-gateway instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KGW_GATEWAY:-}" ]; then
  gw=$KGW_GATEWAY
else
  bash docker/build.sh
  gw=build/gateway/kafka-gateway
fi
cfg=config/examples/shared-customers.yaml
gen=config/examples/generate_customers.py
bootstrap=127.0.0.1:19092
per_codec=${DEMO_CUSTOMERS_PER_CODEC:-200}
codecs=(none gzip snappy lz4 zstd)
total=$((${#codecs[@]} * per_codec))

log=$(mktemp)
out=$(mktemp -d)
"$gw" --config "$cfg" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$log" "$out"' EXIT
for _ in $(seq 100); do
  grep -q "gateway running" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
grep -q "gateway running" "$log" || { echo "the gateway did not start:"; cat "$log"; exit 1; }
echo "== gateway log"
cat "$log"

# kcat as one principal (SASL_PLAINTEXT with PLAIN, password "<name>-secret"), killed after
# `limit` seconds so a demo that goes wrong ends instead of hanging.
as() {
  local who=$1 limit=$2
  shift 2
  timeout "$limit" kcat -b "$bootstrap" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN \
    -X sasl.username="$who" -X sasl.password="$who-secret" "$@"
}

echo
echo "== ingest produces $total customers through the gateway, $per_codec per compression codec"
for i in "${!codecs[@]}"; do
  first=$((i * per_codec))
  python3 "$gen" --start "$first" --count "$per_codec" |
    as ingest 60 -P -t customers -K '\t' -z "${codecs[$i]}"
  echo "   ids $first..$((first + per_codec - 1)) with ${codecs[$i]}"
done

# What each view should deliver, from the generator's own counts.
summary=$(python3 "$gen" --count "$total" --summary)
consenting=$(awk '$1 == "consenting" { print $2 }' <<<"$summary")
us_west=$(awk '$1 == "region" && $2 == "US-WEST" { print $3 }' <<<"$summary")
declare -A expected=([marketing]=$consenting [analytics]=$total [sales]=$us_west [fraud]=$total)
declare -A view=(
  [marketing]="customers with consent.marketing == true; e-mail as ***@domain, no phone"
  [analytics]="every customer; name, e-mail and phone as HMAC-SHA-256 tokens"
  [sales]="customers in its territory (region == US-WEST), unchanged"
  [fraud]="every customer, unchanged"
)

status=0
for who in marketing analytics sales fraud; do
  # A consumer group of its own (marketing-demo, ...); -e: exit at the end of every partition.
  if ! as "$who" 60 -G "$who-demo" -X auto.offset.reset=earliest -X session.timeout.ms=6000 \
    -e -q -f '%k\t%s\n' customers >"$out/$who" 2>"$out/$who.err"; then
    echo "!! kcat as $who failed:"
    cat "$out/$who.err"
    status=1
  fi
  n=$(grep -c . "$out/$who" || true)
  echo
  echo "== $who: $n customers (expected ${expected[$who]}: ${view[$who]}); the first 3 by id:"
  sort -n -k1,1 "$out/$who" | awk -F'\t' 'NR <= 3 { print $2 }'  # awk reads all: no SIGPIPE for sort
  [ "$n" = "${expected[$who]}" ] || status=1
done

echo
echo "== ingest may write customers but not read them:"
as ingest 20 -C -t customers -o beginning -e >/dev/null 2>"$out/ingest.err" || true
if ! grep -m1 -i "authorization failed" "$out/ingest.err"; then
  echo "!! expected an authorization error, kcat said:"
  cat "$out/ingest.err"
  status=1
fi

echo
echo "== the gateway log after the traffic (last 25 lines)"
tail -n 25 "$log"
exit $status
