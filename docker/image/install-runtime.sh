#!/bin/sh
# The image's runtime layer, shared by both Dockerfiles: the Debian packages whose libraries the
# binary links (docker/image/runtime-packages; docker/test_image.sh checks with ldd that nothing
# is missing), and the unprivileged user it runs as.
set -eu
apt-get update -qq
xargs -a /tmp/runtime-packages apt-get install -y -qq --no-install-recommends >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages /tmp/install-runtime.sh
useradd --uid 10001 --gid 0 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin kafka-gateway
mkdir -p /etc/kafka-gateway
