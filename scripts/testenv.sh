#!/bin/bash
# The real systemd the Systemd tests talk to: a Debian 12 rootfs booted with systemd-nspawn
# in a private network namespace, its system bus reachable from the host through a socket in
# a bind-mounted directory. Installs nothing (see scripts/deps).
#
#   scripts/testenv.sh up       rootfs (from cache or debootstrap) + netns + boot; waits for SystemState
#   scripts/testenv.sh down     power the guest off, remove netns and cgroups
#   scripts/testenv.sh status   print the bus address and SystemState
#   scripts/testenv.sh leader   print the PID of the guest's systemd (for nsenter -t PID -a -r -w)
#   scripts/testenv.sh rootfs   only build/unpack the rootfs
#
# Env: REARGUARD_TESTENV (default /var/tmp/rearguard-testenv), REARGUARD_TESTENV_CACHE
# (default /var/tmp/rearguard-testenv-cache), REARGUARD_TESTENV_NAME (machine name, default
# rearguard-test; the netns is named after it), MIRROR, REARGUARD_PROBE (a static binary to
# install as /opt/rearguard/rearguard-systemd-probe in the guest).
# After `up`: DBUS_SYSTEM_BUS_ADDRESS=$(cat $REARGUARD_TESTENV/run/bus-address)
#
# REARGUARD_TESTENV_PROFILE=node boots the other guest, a Fedora CoreOS node's shape: Debian 13 (systemd 257,
# podman 5.4 with its Quadlet generator), laid down from examples/node.bu, Rearguard's and the services' images
# (REARGUARD_NODE_IMAGES, from `scripts/image --services --save`) in its storage, a real OSTree sysroot at /sysroot
# and /boot. Its defaults: REARGUARD_TESTENV=/var/tmp/rearguard-node, NAME rearguard-node. See testenv/configure-node.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PROFILE=${REARGUARD_TESTENV_PROFILE:-test}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE=${REARGUARD_TESTENV_CACHE:-/var/tmp/rearguard-testenv-cache}
NSPAWN_EXTRA=()
case $PROFILE in
  test)
    BASE=${REARGUARD_TESTENV:-/var/tmp/rearguard-testenv}
    SUITE=bookworm
    # what the guest needs; the cache key is the suite plus this list
    GUEST_PACKAGES=systemd,systemd-sysv,dbus,libsystemd0
    ;;
  node)
    BASE=${REARGUARD_TESTENV:-/var/tmp/rearguard-node}
    SUITE=trixie
    GUEST_PACKAGES=systemd,systemd-sysv,dbus,libsystemd0,podman,runc,conmon,iproute2,ostree,e2fsprogs,python3-gi,gir1.2-ostree-1.0,libpam-systemd,polkitd
    # podman in the guest: a unified cgroup hierarchy, every capability, the syscalls it needs (CONTAINERS.md);
    # the node's sysroot at /sysroot and its /boot partition at /boot, as on Fedora CoreOS.
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    # /etc/resolv.conf is the guest's own (its dnsmasq): nothing in it resolves through the host's resolvers.
    NSPAWN_EXTRA=(--capability=all "--system-call-filter=bpf keyctl add_key request_key" --resolv-conf=off
      "--bind=$BASE/sysroot:/sysroot" "--bind=$BASE/sysroot/boot:/boot")
    ;;
  *) echo "testenv: unknown REARGUARD_TESTENV_PROFILE=$PROFILE (test or node)" >&2; exit 64 ;;
esac
ROOT=$BASE/rootfs
RUN=$BASE/run
# A second guest (another worktree, a parallel run) sets its own REARGUARD_TESTENV and NAME.
NAME=${REARGUARD_TESTENV_NAME:-rearguard-$PROFILE}
NETNS=${NAME/rearguard-test/rearguard-sd}
MACHINE=$NAME
TARBALL=$CACHE/rootfs-$SUITE-$(echo "$GUEST_PACKAGES" | md5sum | cut -c1-8).tar.zst
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$RUN/dbus/system_bus_socket
MGR="org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager"

log() { echo "testenv: $*" >&2; }
need() { command -v "$1" >/dev/null || { log "missing $1: run scripts/deps"; exit 1; }; }

rootfs() {
  need debootstrap; need zstd
  mkdir -p "$CACHE" "$BASE"
  if [ -x "$ROOT/usr/lib/systemd/systemd" ] && [ "$(cat "$BASE/rootfs.key" 2>/dev/null)" = "$TARBALL" ]; then
    return 0
  fi
  rm -rf "$ROOT"
  if [ -f "$TARBALL" ]; then
    mkdir "$ROOT"; tar -C "$ROOT" --zstd -xpf "$TARBALL"; log "rootfs from cache $TARBALL"
  else
    log "debootstrap $SUITE ($GUEST_PACKAGES), about a minute"
    debootstrap --variant=minbase --include="$GUEST_PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$BASE/debootstrap.log" 2>&1 ||
      { log "debootstrap failed, see $BASE/debootstrap.log"; exit 1; }
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*_Packages
    tar -C "$ROOT" --zstd -cpf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
    log "rootfs cached as $TARBALL ($(du -h "$TARBALL" | cut -f1))"
  fi
  echo "$TARBALL" > "$BASE/rootfs.key"
}

is_up() { [ -f "$RUN/wrapper.pid" ] && kill -0 "$(cat "$RUN/wrapper.pid")" 2>/dev/null; }

wait_running() {  # until SystemState is running/degraded
  local end=$((SECONDS + ${1:-60})) st=
  while (( SECONDS < end )); do
    # The node's boot gate may keep it "starting" for as long as its soak: there, any answer will do.
    st=$(busctl --timeout=2 get-property $MGR SystemState 2>/dev/null) && case $PROFILE:$st in *running*|*degraded*|node:*starting*) echo "$st"; return 0;; esac
    sleep 0.05
  done
  log "guest did not reach running (last: ${st:-no bus}); see $RUN/console.log"; return 1
}

up() {
  need systemd-nspawn; need busctl; need ip
  if is_up; then log "already up"; wait_running 60 >/dev/null; status; return 0; fi
  rootfs
  if [ "$PROFILE" = node ]; then
    "$HERE/testenv/configure-node.sh" "$ROOT" "$BASE"
  else
    "$HERE/testenv/configure-guest.sh" "$ROOT" "${REARGUARD_PROBE:-}"
  fi
  rm -rf "$RUN"; mkdir -p "$RUN/dbus"
  ip netns del "$NETNS" 2>/dev/null || true
  ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up          # loopback only: no route leaves the namespace
  local t0=$(date +%s.%N)
  setsid "$HERE/testenv/guest-loop.sh" "$ROOT" "$RUN" "$NETNS" "$MACHINE" "${NSPAWN_EXTRA[@]}" </dev/null >/dev/null 2>&1 &
  echo $! > "$RUN/wrapper.pid"
  wait_running 60 >/dev/null
  echo "unix:path=$RUN/dbus/system_bus_socket" > "$RUN/bus-address"
  log "guest running after $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
  status
}

leader() {
  local cg; cg=$(cat "$RUN/cgroup")
  head -1 "/sys/fs/cgroup/unified/$cg/payload/init.scope/cgroup.procs" 2>/dev/null ||
    head -1 "/sys/fs/cgroup/systemd/$cg/payload/init.scope/cgroup.procs"
}

status() {
  echo "DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
  echo "SystemState=$(busctl get-property $MGR SystemState 2>/dev/null || echo 'no answer')"
}

kill_guest_cgroup() {  # SIGKILL whatever still runs in our cgroup tree, then remove it
  local cg; cg=$(cat "$RUN/cgroup" 2>/dev/null) || return 0
  for h in unified systemd; do
    [ -d "/sys/fs/cgroup/$h/$cg" ] || continue
    find "/sys/fs/cgroup/$h/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
  done
  sleep 0.5
  for h in unified systemd; do
    [ -d "/sys/fs/cgroup/$h/$cg" ] && find "/sys/fs/cgroup/$h/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

down() {
  set +e
  if is_up; then
    local w; w=$(cat "$RUN/wrapper.pid")
    busctl --timeout=5 call $MGR StartUnit ss poweroff.target replace-irreversibly >/dev/null 2>&1 ||
      kill "$(pgrep -P "$w" -x systemd-nspawn)" 2>/dev/null   # SIGTERM = orderly halt
    for _ in $(seq 150); do kill -0 "$w" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$w" 2>/dev/null; then
      # A guest caught mid-boot may ignore the halt. Killing nspawn alone would leave the
      # guest's init running (no machined here), so kill the whole cgroup tree.
      log "guest did not power off in 15 s, killing it"
      kill -9 "$w" "$(pgrep -P "$w" -x systemd-nspawn)" 2>/dev/null
      kill_guest_cgroup
    fi
  fi
  kill_guest_cgroup   # no-op after a clean poweroff: the wrapper removed it
  ip netns del "$NETNS" 2>/dev/null
  rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
  rm -f "$RUN/bus-address" "$RUN/wrapper.pid"
  log "down"
  return 0
}

case ${1:-} in
  up|down|status|rootfs|leader) "$1" ;;
  *) echo "usage: $0 up|down|status|leader|rootfs" >&2; exit 64 ;;
esac
