#!/bin/bash
# Stages a new deployment with libostree itself (`ostree admin deploy --stage`), for tests.
# libostree stages only from a booted system: it must find /run/ostree-booted and see that "/" is a
# deployment of the sysroot "/". So, in private mount and PID namespaces (ostree admin reads /proc/1/ns/mnt), this chroots into the booted
# deployment's folder with the sysroot, /boot, the host's /usr and a run folder bind-mounted in.
# Usage: stage-deployment.sh SYSROOT OSNAME BOOTED_DEPLOY_DIRNAME VERSION RUNDIR
#   Commits VERSION on OSNAME/stable and stages it with --lock-finalization (as Zincati does);
#   libostree writes RUNDIR/ostree/staged-deployment. The booted deployment's folder gets a few
#   mount points and symlinks added (test sysroots only).
set -euo pipefail
sysroot=$(realpath "${1:?sysroot}"); os=${2:?osname}; booted=${3:?CHECKSUM.SERIAL}; v=${4:?version}; run=$(realpath -m "${5:?rundir}")
d="$sysroot/ostree/deploy/$os/deploy/$booted"
[ -d "$d" ] || { echo "stage-deployment.sh: no deployment $d" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
t="$work/tree"; k=${KVER:-6.11.0-demo}
mkdir -p "$t/usr/lib/modules/$k" "$t/usr/etc" "$t/usr/bin"
printf 'kernel %s %s\n' "$os" "$k" > "$t/usr/lib/modules/$k/vmlinuz"
printf 'initramfs %s\n' "$k" > "$t/usr/lib/modules/$k/initramfs.img"
printf 'ID=%s\nNAME="%s"\nVERSION_ID=%s\nPRETTY_NAME="%s %s"\n' "$os" "$os" "$v" "$os" "$v" > "$t/usr/lib/os-release"
cp "$t/usr/lib/os-release" "$t/usr/etc/os-release"
ostree --repo="$sysroot/ostree/repo" commit -b "$os/stable" --add-metadata-string=version="$v" --tree=dir="$t" >/dev/null
chattr -i "$d"
for l in bin lib lib64 sbin; do [ -e "$d/$l" ] || ln -s "usr/$l" "$d/$l"; done
mkdir -p "$d/sysroot" "$d/boot" "$d/run" "$d/proc" "$d/tmp" "$d/var/tmp" "$d/dev"
[ -e "$d/ostree" ] || ln -s sysroot/ostree "$d/ostree"
mkdir -p "$run"
unshare --mount --pid --fork --propagation private /bin/bash -euc '
  d=$1; sysroot=$2; run=$3; os=$4
  mount --bind "$sysroot" "$d/sysroot"
  mount --bind "$sysroot/boot" "$d/boot"
  mount --bind /usr "$d/usr"
  mount --bind "$run" "$d/run"
  mount --bind /dev "$d/dev"
  mount -t proc proc "$d/proc"
  touch "$d/run/ostree-booted"
  chroot "$d" /usr/bin/ostree admin deploy --stage --lock-finalization --os="$os" "$os/stable"
  rm -f "$d/run/ostree-booted"
' stage "$d" "$sysroot" "$run" "$os"
