# Sourced by scripts that run podman or buildah on this test machine. These settings are this machine's, never a
# node's (see ../shared/CONTAINERS.md): no systemd as PID 1 (cgroupfs), crun refuses the hybrid cgroup layout
# (runc), no CAP_SYS_RESOURCE (ulimits within the hard limits), and no network for any container (netns none).
RG_CONTAINERS=${RG_CONTAINERS:-/var/tmp/rearguard-containers}
mkdir -p "$RG_CONTAINERS/storage" "$RG_CONTAINERS/runroot" "$RG_CONTAINERS/tmp"
cat > "$RG_CONTAINERS/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$RG_CONTAINERS/storage"
runroot = "$RG_CONTAINERS/runroot"
CONF
cat > "$RG_CONTAINERS/containers.conf" <<CONF
[containers]
log_driver = "k8s-file"
netns = "none"
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
export CONTAINERS_STORAGE_CONF=$RG_CONTAINERS/storage.conf CONTAINERS_CONF=$RG_CONTAINERS/containers.conf
export TMPDIR=$RG_CONTAINERS/tmp

# local_base NAME SUITE PACKAGES [ENV...]: makes localhost/NAME:SUITE-<key> from a debootstrap minbase of SUITE with
# PACKAGES (comma-separated), unless it exists; prints the image name. The rootfs tarball is cached by the same key,
# so a second machine state (podman storage wiped) rebuilds in seconds.
local_base() {
  local name=$1 suite=$2 packages=$3; shift 3
  local key; key=$(echo "$suite $packages $*" | md5sum | cut -c1-8)
  local image=localhost/$name:$suite-$key cache=${RG_IMAGE_CACHE:-/var/tmp/rearguard-image-cache}
  if podman image exists "$image"; then echo "$image"; return 0; fi
  mkdir -p "$cache"
  local tarball=$cache/$name-$suite-$key.tar.zst
  if [ ! -f "$tarball" ]; then
    local root; root=$(mktemp -d "$cache/rootfs.XXXXXX")
    echo "image: debootstrap $suite for $name ($packages), about a minute" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$root" "${MIRROR:-http://deb.debian.org/debian}" \
      >"$cache/$name-debootstrap.log" 2>&1 || { echo "image: debootstrap failed, see $cache/$name-debootstrap.log" >&2; return 1; }
    # What no container needs: apt's lists and caches, documentation, manual pages, translations.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
      "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log
    tar -C "$root" --zstd -cpf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  local changes=(--change 'CMD ["/bin/bash"]')
  local e; for e in "$@"; do changes+=(--change "ENV $e"); done
  zstd -dc "$tarball" | podman import "${changes[@]}" - "$image" >/dev/null
  echo "$image"
}
