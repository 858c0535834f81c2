#!/bin/bash
# Usage: configure-node.sh ROOTFS BASE     (by `REARGUARD_TESTENV_PROFILE=node scripts/testenv.sh up`)
# Makes the Debian 13 rootfs a Fedora CoreOS node's shape, on every `up` (idempotent):
#  - lays down examples/node.bu as Ignition would (apply-butane.py): the quadlets, the boot gate, Rearguard's config;
#  - loads the images of REARGUARD_NODE_IMAGES (`scripts/image --services --save FILE`) into the node's storage;
#  - a real OSTree sysroot at BASE/sysroot (two Fedora CoreOS releases), bound at /sysroot and /boot;
#  - what only this test machine needs, each marked "test-only" below.
set -euo pipefail
R=${1:?rootfs}; BASE=${2:?base}
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)

echo rearguard-node > "$R/etc/hostname"
# keep the console quiet and the boot short; no kernel modules to load in a container
for u in console-getty.service getty@tty1.service systemd-modules-load.service e2scrub_reap.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"; done
for t in apt-daily apt-daily-upgrade dpkg-db-backup e2scrub_all fstrim; do
  ln -sf /dev/null "$R/etc/systemd/system/$t.timer"; done
# The node's names resolve through its own DNS service (nspawn runs with --resolv-conf=off).
echo "nameserver 127.0.0.1" > "$R/etc/resolv.conf"

# test-only: podman's settings for this machine (../shared/CONTAINERS.md); a real node needs none of them.
mkdir -p "$R/etc/containers"
cat > "$R/etc/containers/containers.conf" <<CONF
[containers]
keyring = false
pids_limit = 0
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF

# A fresh `up` keeps no drop-in a test left (they are all named 95-test-*).
rm -f "$R"/etc/rearguard/config.d/95-test-* "$R"/etc/containers/systemd/rearguard.container.d/95-test-*
# The node as examples/node.bu describes it.
/usr/bin/python3 "$HERE/apply-butane.py" "$R" "$TOP/examples/node.bu" "$TOP"

# test-only: in an nspawn guest the kernel command line (/proc/cmdline in a container) is the test machine's, and the
# kernel's boot id is the same for every guest boot. A unit plays the boot loader: each boot it takes the first boot
# loader entry of the sysroot (as GRUB would), writes its kernel command line and the guest's own boot id to
# /run/rearguard/test, and the test drop-in points Rearguard there.
mkdir -p "$R/etc/rearguard/config.d"
cat > "$R/etc/rearguard/config.d/90-test-node.toml" <<'TOML'
# test-only (scripts/testenv/configure-node.sh): this guest's boot loader and boot id, a short soak.
[host]
cmdline = "/run/rearguard/test/cmdline"
boot_id = "/run/rearguard/test/boot_id"

[assessment]
soak = "5s"

[daemon]
watchdog = "6s"
TOML
# test-only: the watchdog test waits WatchdogSec for systemd to act, so it is short here (and the same in [daemon]).
mkdir -p "$R/etc/containers/systemd/rearguard.container.d"
printf '[Service]\nWatchdogSec=6s\n' > "$R/etc/containers/systemd/rearguard.container.d/90-test-node.conf"
mkdir -p "$R/usr/local/libexec"
cat > "$R/usr/local/libexec/rearguard-test-bootloader" <<'SH'
#!/bin/sh
set -eu
mkdir -p /run/rearguard/test
cp /proc/sys/kernel/random/boot_id /run/rearguard/test/boot_id
entry=$(grep -H "^version " /boot/loader/entries/*.conf | sort -t" " -k2 -n | tail -1 | cut -d: -f1)
options=$(sed -n "s/^options //p" "$entry")
echo "BOOT_IMAGE=(hd0,gpt3)/boot/vmlinuz rw $options console=ttyS0" > /run/rearguard/test/cmdline
deployment=$(readlink -f "/sysroot$(echo "$options" | tr ' ' '\n' | sed -n 's/^ostree=//p')")
echo "$deployment" > /run/rearguard/test/deployment
# A release may carry a breakage of its own (make-sysroot.sh EXTRA_TREE): its /usr/lib/rearguard-test/dnsmasq-site.conf
# is the site's DNS config for this boot, as an update that breaks DNS would have it.
if [ -f "$deployment/usr/lib/rearguard-test/dnsmasq-site.conf" ]; then
  mount --bind "$deployment/usr/lib/rearguard-test/dnsmasq-site.conf" /etc/dnsmasq.d/site.conf
fi
SH
chmod +x "$R/usr/local/libexec/rearguard-test-bootloader"
cat > "$R/etc/systemd/system/rearguard-test-bootloader.service" <<'UNIT'
[Unit]
Description=rearguard test: the boot loader's choice and this boot's id, for the agent
DefaultDependencies=no
After=systemd-tmpfiles-setup.service local-fs.target
Before=rearguard.service rearguard-verdict.service dnsmasq.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/libexec/rearguard-test-bootloader
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
# test-only: the stand-in rpm-ostreed (Tests/Fixtures/rpm-ostreed) on the node's own bus, over its /sysroot, with its
# transaction sockets in the node's /run, as the real daemon has them; root may own the name, anyone may call it.
mkdir -p "$R/usr/local/libexec/rpm-ostreed" "$R/etc/dbus-1/system.d"
cp "$TOP/Tests/Fixtures/rpm-ostreed/"* "$R/usr/local/libexec/rpm-ostreed/"
cp "$HERE/rpm-ostreed-policy.conf" "$R/etc/dbus-1/system.d/org.projectatomic.rpmostree1.conf"
cat > "$R/etc/systemd/system/rpm-ostreed.service" <<'UNIT'
[Unit]
Description=rearguard test: stand-in rpm-ostreed
After=dbus.service rearguard-test-bootloader.service
Before=rearguard.service
[Service]
ExecStart=/usr/bin/python3 /usr/local/libexec/rpm-ostreed/rpm-ostreed-standin --bus unix:path=/run/dbus/system_bus_socket --sysroot /sysroot --run-dir /run --host-run /run --log /var/log/rpm-ostreed-standin.jsonl
[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../rpm-ostreed.service "$R/etc/systemd/system/multi-user.target.wants/rpm-ostreed.service"
# The journal survives reboots, so a test reads the decisions of the boot before.
mkdir -p "$R/var/log/journal"
# make-sysroot.sh inside the node, for tests that deploy a release with the node's own ostree.
cp "$TOP/scripts/make-sysroot.sh" "$R/usr/local/libexec/make-sysroot.sh"
ln -sf ../rearguard-test-bootloader.service "$R/etc/systemd/system/multi-user.target.wants/rearguard-test-bootloader.service"
# test-only: a stand-in for zincati.service with the real unit's dependency on boot-complete.target (which is what
# pulls the target, and so the boot gate, into a Fedora CoreOS boot). It reads Zincati's drop-ins as Zincati does
# (/usr/lib, /etc, /run zincati/config.d, *.toml, later wins) and says whether it would update.
mkdir -p "$R/usr/local/libexec"
cat > "$R/usr/local/libexec/zincati-standin" <<'SH'
#!/bin/sh
# Zincati's config merge for one key: drop-ins by file name in lexical order, a name in a later folder replaces it.
enabled=true
for name in $(ls /usr/lib/zincati/config.d /etc/zincati/config.d /run/zincati/config.d 2>/dev/null | grep '\.toml$' | sort -u); do
  f=
  for d in /usr/lib/zincati/config.d /etc/zincati/config.d /run/zincati/config.d; do [ -f "$d/$name" ] && f=$d/$name; done
  v=$(sed -n 's/^ *enabled *= *\(true\|false\).*/\1/p' "$f" | tail -1)
  [ -n "$v" ] && enabled=$v
done
echo "$enabled" > /run/zincati-standin-enabled
if [ "$enabled" = false ]; then echo "zincati stand-in: updates disabled by config, would not update"
else echo "zincati stand-in: updates enabled, would update"; fi
SH
chmod +x "$R/usr/local/libexec/zincati-standin"
cat > "$R/etc/systemd/system/zincati.service" <<'UNIT'
[Unit]
Description=rearguard test: Zincati stand-in (would it update?)
Requires=boot-complete.target
After=network-online.target boot-complete.target
[Service]
# Active only once it has read the drop-ins and written its answer, so a test that sees it active reads the answer.
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/libexec/zincati-standin
[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../zincati.service "$R/etc/systemd/system/multi-user.target.wants/zincati.service"
# counts the guest's boots (one unit file for both guests)
cp "$(dirname "$0")/rearguard-test-boots.service" "$R/etc/systemd/system/rearguard-test-boots.service"
ln -sf ../rearguard-test-boots.service "$R/etc/systemd/system/multi-user.target.wants/rearguard-test-boots.service"

# test-only: every `up` boots a fresh node. A kept rootfs may hold what the last run's last test left: releases it
# deployed (a broken one first in boot order), the agent's memory of them, test drop-ins. Booted like that, the agent
# would act on it (a rollback and a reboot) under the first test's reset. Tests only ever add deployments, so two
# is the untouched base.
rm -f "$R"/etc/rearguard/config.d/95-test-* "$R"/etc/containers/systemd/rearguard.container.d/95-test-* \
  "$R/var/log/rpm-ostreed-standin.jsonl"
rm -rf "$R"/var/lib/rearguard/*
deployed=$(find "$BASE/sysroot/ostree/deploy/fedora-coreos/deploy" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
if [ -d "$BASE/sysroot/ostree/deploy" ] && [ "$deployed" != 2 ]; then
  chattr -R -f -i "$BASE/sysroot/ostree" 2>/dev/null || true
  rm -rf "$BASE/sysroot"
fi
# The node's OSTree sysroot: two releases, the newer first in boot order, written by the node's own ostree (Debian 13's
# 2025.2, as new as Fedora CoreOS 42's) and read by the image's libostree (Debian 12's 2022.7).
if [ ! -d "$BASE/sysroot/ostree/deploy" ]; then
  mkdir -p "$BASE/sysroot"
  systemd-nspawn -q -D "$R" --register=no --keep-unit --bind="$BASE/sysroot:/sysroot" --bind-ro="$TOP/scripts:/opt/rearguard-scripts" \
    /opt/rearguard-scripts/make-sysroot.sh /sysroot fedora-coreos 42.20251027.3.0 42.20251110.3.0 >/dev/null
fi
mkdir -p "$R/sysroot" "$R/boot"

# polkit as on Fedora CoreOS, where Zincati, an unprivileged user, may reboot the node through logind: its
# zincati.rules grants reboot and reboot-multiple-sessions, never ignore-inhibit. Here "nobody" plays Zincati, so
# a test can show that such a reboot goes through unless Rearguard's block inhibitor stands in the way.
mkdir -p "$R/etc/polkit-1/rules.d"
cat > "$R/etc/polkit-1/rules.d/50-rearguard-test-zincati.rules" <<'RULES'
polkit.addRule(function(action, subject) {
    if ((action.id == "org.freedesktop.login1.reboot" ||
         action.id == "org.freedesktop.login1.reboot-multiple-sessions") &&
        subject.user == "nobody") {
        return polkit.Result.YES;
    }
});
RULES

# The images, into the node's container storage (host podman 4.3 writes the layers; the node's podman 5 makes its
# own database at first start, so the old one is removed).
images=${REARGUARD_NODE_IMAGES:-}
if [ -z "$images" ] || [ ! -f "$images" ]; then
  echo "configure-node: no images (REARGUARD_NODE_IMAGES=${images:-unset}): run scripts/image --services --save FILE" >&2
  exit 1
fi
stamp=$R/var/lib/containers/.rearguard-images
sum=$(md5sum < "$images" | cut -c1-32)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  # shellcheck source=scripts/lib/containers.sh
  . "$TOP/scripts/lib/containers.sh"
  run=$(mktemp -d)
  rm -rf "$R/var/lib/containers/storage"
  podman --root "$R/var/lib/containers/storage" --runroot "$run" --storage-driver overlay load -q -i "$images" >/dev/null
  rm -rf "$R/var/lib/containers/storage/libpod" "$run"
  echo "$sum" > "$stamp"
fi
