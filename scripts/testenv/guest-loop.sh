#!/bin/bash
# Usage: guest-loop.sh ROOTFS RUNDIR NETNS MACHINE [NSPAWN-ARG...]   (foreground; testenv.sh backgrounds it)
# Boots ROOTFS with systemd-nspawn in the network namespace NETNS; the guest's system bus
# socket appears on the host at RUNDIR/dbus/system_bus_socket.
# nspawn exits 133 when the guest asks for a reboot; with --keep-unit nobody restarts it, so we do.
set -u
ROOT=${1:?rootfs}; RUN=${2:?rundir}; NETNS=${3:?netns}; MACHINE=${4:?machine}; shift 4
mkdir -p "$RUN/dbus"
# Own cgroup: otherwise nspawn creates /payload and /supervisor at the cgroup root, where a
# second container (another engineer's harness) would collide with ours.
CG=rearguard-testenv-$$
for h in unified systemd; do
  if [ -d /sys/fs/cgroup/$h ]; then
    mkdir -p /sys/fs/cgroup/$h/$CG && echo $$ > /sys/fs/cgroup/$h/$CG/cgroup.procs
  fi
done
echo "$CG" > "$RUN/cgroup"
boot=0
while :; do
  boot=$((boot+1))
  echo "$(date +%s.%N) boot $boot start" >> "$RUN/events.log"
  systemd-nspawn -D "$ROOT" --boot --machine="$MACHINE" \
      --register=no --keep-unit \
      --network-namespace-path="/run/netns/$NETNS" \
      --bind="$RUN/dbus:/run/dbus" \
      --console=pipe "$@" </dev/null >> "$RUN/console.log" 2>&1
  rc=$?
  echo "$(date +%s.%N) boot $boot nspawn exited rc=$rc" >> "$RUN/events.log"
  [ "$rc" -eq 133 ] || break     # 133 = reboot requested; 0 = poweroff
done
for h in unified systemd; do
  [ -d /sys/fs/cgroup/$h/$CG ] || continue
  echo $$ > /sys/fs/cgroup/$h/cgroup.procs   # leave our cgroup so it can be removed
  find /sys/fs/cgroup/$h/$CG -depth -type d -exec rmdir {} \; 2>/dev/null
done
sleep 0.5   # rmdir can race with the last exiting task: retry once
for h in unified systemd; do
  [ -d /sys/fs/cgroup/$h/$CG ] && find /sys/fs/cgroup/$h/$CG -depth -type d -exec rmdir {} \; 2>/dev/null
done
echo "$(date +%s.%N) loop ended rc=$rc" >> "$RUN/events.log"
exit $rc
