#!/usr/bin/env bash
# The container image and the sidecar manifest, as a user runs them (ctest label "container"):
#   image:   docker/Dockerfile.prebuilt around the binary under test (no compile in the image),
#            every library it links present (ldd inside), non-root, --version, a HEALTHCHECK;
#            started with config/examples/shared-customers.yaml mounted from outside, a kcat on
#            the host writes customers through it and reads marketing's view; SIGTERM drains and
#            exits 0; started without a configuration it says what to mount.
#   sidecar: docker/kubernetes/sidecar.yaml under `podman kube play`: the gateway beside an
#            application container that reads its view of a topic on a broker outside the pod.
# The pod, containers and images it made are removed at the end; the debian:12 base image stays
# (made once per machine by tests/docker/podman_env.sh).
# Usage: container_test.sh PATH/TO/kafka-gateway SOURCE_DIR
set -uo pipefail
gw=$1
src=$2
work=$(mktemp -d /var/tmp/kgw-container-test.XXXXXX)
image=localhost/kafka-gateway:latest
app_image=localhost/kafka-gateway-example-app:latest
name=kgw-container-test
pids=()
failures=0
passes=0
check() {  # check NAME COMMAND...: records a pass or a failure
  local what=$1; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  [ -f "$work/sidecar.yaml" ] && podman kube down "$work/sidecar.yaml" >/dev/null 2>&1
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  podman rmi -f "$app_image" "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
. "$src/tests/docker/podman_env.sh"
podman_env_init "$work/podman"
ensure_base_image || { echo "FAILED: no debian:12 base image" >&2; exit 1; }

# The example's ports must be free (ctest runs this test alone: RUN_SERIAL).
if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", 19092))' 2>/dev/null; then :; else
  echo "FAILED: 127.0.0.1:19092 (the example's bootstrap port) is in use" >&2; exit 1
fi

# --- The image, from the binary under test -------------------------------------------------
start=$SECONDS
ctx=$work/ctx
mkdir -p "$ctx/docker/image" "$ctx/config" "$ctx/build/gateway"
cp "$src/docker/Dockerfile.prebuilt" "$ctx/docker/"
cp "$src/docker/image/runtime-packages" "$src/docker/image/install-runtime.sh" "$ctx/docker/image/"
cp -r "$src/config/examples" "$ctx/config/"
strip -o "$ctx/build/gateway/kafka-gateway" "$gw"
podman build -q --pull=never --network host --format docker -f "$ctx/docker/Dockerfile.prebuilt" -t "$image" "$ctx" \
  >"$work/build.log" 2>&1
check "the image builds" test $? -eq 0 || { cat "$work/build.log" >&2; exit 1; }
echo "image built in $((SECONDS - start)) s, $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
podman run --rm --network host --entrypoint ldd "$image" /usr/local/bin/kafka-gateway >"$work/ldd" 2>>"$work/podman.err"
check "ldd runs in the image" test $? -eq 0
check "every library the binary links is in the image" bash -c '! grep -q "not found" "$1"' _ "$work/ldd"
check "--version in the image" grep -Eq '^kafka-gateway [0-9.]+ \(commit ' <(podman run --rm --network host "$image" --version 2>>"$work/podman.err")
check "it runs as a non-root user" test "$(podman run --rm --network host --entrypoint id "$image" -u 2>>"$work/podman.err")" = 10001
check "the image has a HEALTHCHECK" python3 -c '
import json, sys
test = json.load(sys.stdin)[0]["Healthcheck"]["Test"]
assert test[1:3] == ["/usr/local/bin/kafka-gateway", "health"], test' < <(podman image inspect "$image")
podman run --rm --network host "$image" >"$work/noconfig" 2>&1 </dev/null
check "without a mounted configuration it exits 1" test $? -eq 1
check "... and says which file it looked for" grep -q "/etc/kafka-gateway/gateway.yaml" "$work/noconfig"

# --- The image with the example configuration mounted from outside --------------------------
# (podman complains that without systemd it cannot schedule the HEALTHCHECK: into podman.err;
# `podman healthcheck run` below runs it once by hand.)
podman run -d --name "$name" --network host -v "$src/config/examples:/etc/kafka-gateway:ro" \
  -e KAFKA_GATEWAY_CONFIG=/etc/kafka-gateway/shared-customers.yaml "$image" >/dev/null 2>>"$work/podman.err"
for _ in $(seq 150); do podman logs "$name" 2>&1 | grep -q "gateway running" && break; sleep 0.2; done
check "the gateway starts in its container" grep -q "gateway running" <(podman logs "$name" 2>&1)
as() {
  local who=$1; shift
  timeout 60 kcat -b 127.0.0.1:19092 -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN \
    -X sasl.username="$who" -X sasl.password="$who-secret" "$@"
}
gen=$src/config/examples/generate_customers.py
python3 "$gen" --count 200 | as ingest -P -t customers -K '\t' -z zstd
check "ingest writes 200 customers through the container" test $? -eq 0
consenting=$(python3 "$gen" --count 200 --summary | awk '$1 == "consenting" { print $2 }')
as marketing -G marketing-image-test -X auto.offset.reset=earliest -e -q -f '%s\n' customers >"$work/marketing" 2>"$work/marketing.err"
check "marketing reads its view from the host" test "$(grep -c . "$work/marketing")" = "$consenting"
check "marketing's view: no phone, e-mail as ***@domain" python3 - "$work/marketing" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert rows and all("phone" not in r and r["email"].startswith("***@") for r in rows), rows[:2]
PY
podman healthcheck run "$name" >/dev/null 2>&1
check "the HEALTHCHECK passes while it serves" test $? -eq 0
t0=$SECONDS
podman stop -t 30 "$name" >/dev/null 2>&1
check "SIGTERM stops it within 10 s (drained, not killed)" test $((SECONDS - t0)) -le 10
check "... exit code 0" test "$(podman inspect --format '{{.State.ExitCode}}' "$name")" = 0
check "... after draining" grep -q "SIGTERM received: draining connections" <(podman logs "$name" 2>&1)
podman rm -f "$name" >/dev/null 2>&1

# --- The sidecar manifest under podman kube play ---------------------------------------------
# The broker outside the pod: an embedded one on this host's loopback, holding 200 customers.
"$gw" dev-cluster --brokers 1 --topic customers:3 >"$work/broker.out" 2>"$work/broker.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
broker=$(head -1 "$work/broker.out")
check "the broker outside the pod starts" test -n "$broker"
python3 "$gen" --count 200 | timeout 60 kcat -b "$broker" -P -t customers -K '\t'
check "200 customers written straight to the broker" test $? -eq 0
# The example application's image: kcat (this host's, with the one library the gateway image
# lacks) on top of the gateway image, which has the rest (librdkafka and its codecs).
app_ctx=$work/app
mkdir -p "$app_ctx"
cp /usr/bin/kcat "$app_ctx/"
cp "$(ldd /usr/bin/kcat | awk '/libyajl/ { print $3 }')" "$app_ctx/"
cat >"$app_ctx/Dockerfile" <<'DOCKERFILE'
FROM localhost/kafka-gateway:latest
COPY kcat /usr/local/bin/kcat
COPY libyajl.so.2 /usr/local/lib/libyajl.so.2
ENV LD_LIBRARY_PATH=/usr/local/lib
ENTRYPOINT []
DOCKERFILE
podman build -q --pull=never --network host --format docker -t "$app_image" "$app_ctx" >"$work/app-build.log" 2>&1
check "the example application's image builds" test $? -eq 0 || cat "$work/app-build.log" >&2
# The manifest as shipped, but for the cluster's address and the Secret given as files: podman
# 4.3's kube play ignores a Secret's stringData and does not decode its data.
mkdir -p "$work/secrets"
python3 - "$src/docker/kubernetes/sidecar.yaml" "$work/sidecar.yaml" "$work/secrets" "$broker" <<'PY'
import os, sys, yaml
src, dst, secret_dir, broker = sys.argv[1:]
docs = list(yaml.safe_load_all(open(src)))
out = []
for d in docs:
    if d["kind"] == "Secret":
        for name, value in d["stringData"].items():
            path = os.path.join(secret_dir, name)
            with open(path, "w") as f:
                f.write(value)
            os.chmod(path, 0o440)  # group 0, the image user's group, may read
        continue
    if d["kind"] == "ConfigMap":
        text = d["data"]["gateway.yaml"]
        start = text.index("bootstrap: [")
        end = text.index("]", start)
        d["data"]["gateway.yaml"] = text[:start] + "bootstrap: [" + broker + text[end:]
    if d["kind"] == "Deployment":
        for v in d["spec"]["template"]["spec"]["volumes"]:
            if "secret" in v:
                del v["secret"]
                v["hostPath"] = {"path": secret_dir, "type": "Directory"}
    out.append(d)
yaml.safe_dump_all(out, open(dst, "w"), sort_keys=False)
PY
check "the manifest is read" test -s "$work/sidecar.yaml"
timeout 120 podman kube play --network host "$work/sidecar.yaml" >"$work/play.log" 2>&1
check "podman kube play starts the pod" test $? -eq 0 || cat "$work/play.log" >&2
app=marketing-dashboard-pod-0-app
sidecar=marketing-dashboard-pod-0-kafka-gateway
for _ in $(seq 300); do
  [ "$(podman logs "$app" 2>/dev/null | grep -c '^record ')" -ge "$consenting" ] && break
  sleep 0.2
done
podman logs "$app" 2>/dev/null | sed -n 's/^record //p' >"$work/app-records"
check "the application reads its view through the sidecar ($consenting consenting customers)" \
  test "$(grep -c . "$work/app-records")" = "$consenting"
check "... masked: no phone, e-mail as ***@domain" python3 - "$work/app-records" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert rows and all("phone" not in r and r["email"].startswith("***@") and r["consent"]["marketing"] for r in rows), rows[:2]
PY
check "the sidecar is ready (/readyz: upstream reachable)" "$gw" health --url http://127.0.0.1:9644/readyz
check "the sidecar runs as its non-root user" grep -Eqx "(10001|kafka-gateway)" <(podman top "$sidecar" user 2>/dev/null | tail -1 | tr -d " ")
podman kube down "$work/sidecar.yaml" >/dev/null 2>&1
check "podman kube down removes the pod" bash -c '! podman pod exists marketing-dashboard-pod-0'

echo "container test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
