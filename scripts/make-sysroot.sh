#!/bin/bash
# Builds a real OSTree sysroot with `ostree admin`, for the demo and the tests.
# Usage: make-sysroot.sh DIR OSNAME VERSION [VERSION...]
#   Commits one tree per VERSION (commit metadata version=VERSION) on ref OSNAME/stable and
#   deploys each in turn, keeping the older ones (--retain), so the last VERSION is first in boot order.
#   Calling it again on an existing DIR adds another stateroot (a different OSNAME) or more versions.
# Env: KVER (kernel version, default 6.11.0-demo); BOOT_VARIES=1 gives each version its own kernel; EXTRA_TREE=DIR
# adds DIR's files to each VERSION's tree (a release that carries a change of its own).
set -euo pipefail
dir=${1:?usage: make-sysroot.sh DIR OSNAME VERSION...}; os=${2:?osname}; shift 2
[ $# -gt 0 ] || { echo "make-sysroot.sh: give at least one VERSION" >&2; exit 2; }
command -v ostree >/dev/null || { echo "make-sysroot.sh: ostree is missing (apt-get install ostree)" >&2; exit 1; }
kver=${KVER:-6.11.0-demo}
if [ ! -d "$dir/ostree/repo" ]; then
  mkdir -p "$dir"
  ostree admin init-fs --modern "$dir" >/dev/null
  # a boot loader config folder, as a real /boot has; libostree writes BLS entries into it
  mkdir -p "$dir/boot/loader.0/entries" && ln -sfn loader.0 "$dir/boot/loader"
fi
[ -d "$dir/ostree/deploy/$os" ] || ostree admin os-init --sysroot="$dir" "$os" >/dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
n=0
for v in "$@"; do
  n=$((n+1))  # commit timestamps follow the order given: day n of November 2025
  t="$work/tree-$v"; k=$kver; [ "${BOOT_VARIES:-0}" = 1 ] && k="$kver-$v"
  mkdir -p "$t/usr/lib/modules/$k" "$t/usr/etc" "$t/usr/bin"
  printf 'kernel %s %s\n' "$os" "$k" > "$t/usr/lib/modules/$k/vmlinuz"
  printf 'initramfs %s\n' "$k" > "$t/usr/lib/modules/$k/initramfs.img"
  printf 'ID=%s\nNAME="%s"\nVERSION_ID=%s\nPRETTY_NAME="%s %s"\n' "$os" "$os" "$v" "$os" "$v" > "$t/usr/lib/os-release"
  cp "$t/usr/lib/os-release" "$t/usr/etc/os-release"
  printf 'release %s\n' "$v" > "$t/usr/bin/rearguard-demo-release"
  if [ -n "${EXTRA_TREE:-}" ]; then cp -a "$EXTRA_TREE/." "$t/"; fi
  ostree --repo="$dir/ostree/repo" commit -b "$os/stable" --add-metadata-string=version="$v" \
    --timestamp="2025-11-$(printf '%02d' $(( n % 28 + 1 ))) 12:00:00 UTC" \
    --tree=dir="$t" >/dev/null
  ostree admin deploy --sysroot="$dir" --os="$os" --retain "$os/stable" >/dev/null
done
