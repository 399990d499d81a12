# Sourced by the container tests: podman as docker/README.md runs it on a machine without an
# image registry (facts in ../shared/CONTAINERS.md): runc as the runtime, cgroupfs, file events,
# ulimits no higher than this machine's hard limits, and a debian:12 base image made with
# debootstrap when none can be pulled. Nothing under /etc is changed: the settings are a
# containers.conf of our own (CONTAINERS_CONF).
#   podman_env_init STATE_DIR   writes STATE_DIR/containers.conf, exports CONTAINERS_CONF
#   ensure_base_image           docker.io/library/debian:12 exists afterwards (about 2 minutes
#                               the first time on a machine, then cached in podman's storage)
podman_env_init() {
  local dir=$1
  mkdir -p "$dir"
  local nofile
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$dir/containers.conf"
}

ensure_base_image() {
  podman image exists docker.io/library/debian:12 && return 0
  # A registry may be reachable (then this is a normal pull); else build the base from Debian's
  # archive, which is.
  if timeout 60 podman pull -q docker.io/library/debian:12 >/dev/null 2>&1; then return 0; fi
  echo "making the debian:12 base image with debootstrap (about 2 minutes, once)" >&2
  local root
  root=$(mktemp -d /var/tmp/kgw-debian12.XXXXXX)
  if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1; then
    echo "debootstrap failed (log: $root.log)" >&2
    tail -5 "$root.log" >&2
    rm -rf "$root"
    return 1
  fi
  cat >"$root/etc/apt/sources.list" <<SRC
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  chroot "$root" apt-get clean
  : >"$root/etc/resolv.conf"
  rm -f "$root/etc/hostname"
  # As Docker Hub's debian:12 is: PATH set (kube play gives a container no default PATH), bash.
  tar -C "$root" -c . | podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - docker.io/library/debian:12 >/dev/null
  local rc=$?
  rm -rf "$root" "$root.log"
  return $rc
}
