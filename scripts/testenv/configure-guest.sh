#!/bin/sh
# Usage: configure-guest.sh ROOTFS
# Idempotent guest configuration, applied on every `up` (cheap; not part of the cache key).
# Installs the units the Swift tests poke and the probe binary, if one was built.
set -eu
R=${1:?rootfs dir}
PROBE=${2:-}
echo rearguard-test > "$R/etc/hostname"
# keep the console quiet and the boot short
ln -sf /dev/null "$R/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"
for t in apt-daily apt-daily-upgrade dpkg-db-backup e2scrub_all fstrim; do
  ln -sf /dev/null "$R/etc/systemd/system/$t.timer"; done
ln -sf /dev/null "$R/etc/systemd/system/e2scrub_reap.service"

U=$R/etc/systemd/system
# healthy, enabled, never touched by tests
cat > "$U/agent-ok.service" <<'X'
[Unit]
Description=rearguard test: long-running healthy service
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
X
mkdir -p "$U/multi-user.target.wants"
ln -sf ../agent-ok.service "$U/multi-user.target.wants/agent-ok.service"
# one instance per test (agent-sleep@stopstart, @kill, @restart, ...): tests never share one
cat > "$U/agent-sleep@.service" <<'X'
[Unit]
Description=rearguard test: long-running service %i
[Service]
ExecStart=/bin/sleep infinity
X
# fails at once with Result=exit-code (status 1)
cat > "$U/agent-fail@.service" <<'X'
[Unit]
Description=rearguard test: always fails (%i)
[Service]
Type=oneshot
ExecStart=/bin/false
X
# crashes after 0.3 s and is restarted 0.2 s later: NRestarts grows
cat > "$U/agent-flap.service" <<'X'
[Unit]
Description=rearguard test: crashes and is restarted
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'sleep 0.3; exit 3'
Restart=on-failure
RestartSec=200ms
X
# the probe reports READY/STATUS through sd_notify
cat > "$U/agent-notify.service" <<'X'
[Unit]
Description=rearguard test: sd_notify from the Swift Notifier
[Service]
Type=notify
NotifyAccess=main
# the probe pings every 300 ms; without WATCHDOG=1 systemd would kill it after 1 s
WatchdogSec=1
ExecStart=/opt/rearguard/rearguard-systemd-probe notify
TimeoutStartSec=20
X
mkdir -p "$R/opt/rearguard"
if [ -n "$PROBE" ] && [ -x "$PROBE" ]; then
  cp "$PROBE" "$R/opt/rearguard/rearguard-systemd-probe"
fi
# counts the guest's boots (one unit file for both guests)
cp "$(dirname "$0")/rearguard-test-boots.service" "$U/rearguard-test-boots.service"
ln -sf ../rearguard-test-boots.service "$U/multi-user.target.wants/rearguard-test-boots.service"
# The stand-in rpm-ostreed (Tests/Fixtures/rpm-ostreed) runs on the host as root and joins this bus:
# root may own the name and anyone may call it, as the real package's bus policy allows.
mkdir -p "$R/etc/dbus-1/system.d"
cp "$(dirname "$0")/rpm-ostreed-policy.conf" "$R/etc/dbus-1/system.d/org.projectatomic.rpmostree1.conf"
