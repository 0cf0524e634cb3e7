#!/usr/bin/env bash
# Builds the test guest: Debian 12 with systemd as PID 1 and pure cgroup v2 (what most users' hosts
# boot), with what Corral needs on a host, the host's own Node.js binary, and the job unit that
# scripts/guest/run.sh drives. Debian's mmdebstrap makes the tree, `mkfs.ext4 -d` the disk; the
# kernel and initrd are taken out of the guest's own linux-image package for qemu's -kernel/-initrd.
# Cached in .cache/guest/image-KEY (or $CORRAL_GUEST_CACHE/image-KEY), KEY a hash of this recipe,
# the files put in the guest and the Node.js binary: built once per machine, again when they change.
# Prints the image directory (disk.img, vmlinuz, initrd.img) on stdout.
# usage: build-image.sh   (env NODE_BINARY: the node to copy in, default the one on the PATH;
#                         CORRAL_GUEST_CACHE: where images and .debs are kept, default .cache/guest)
set -euo pipefail
# One compound command: bash reads it whole before running it, so an edit of this file while it runs
# (a build takes minutes) cannot change what the running copy does.
{
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# CORRAL_GUEST_CACHE: a cache outside the checkout, kept by later fresh clones on the same machine (CI).
cache=${CORRAL_GUEST_CACHE:-$root/.cache/guest}

# What Corral needs on a host (as scripts/bootstrap.sh installs it, less the compilers and the image
# tools), systemd and a kernel to boot, procps for pgrep (the leak checker), dbus for systemd's
# cgroup driver. linux-image's initrd is made small (initrd-config.sh): virtio disks and ext4 only.
PACKAGES=(systemd systemd-sysv udev dbus kmod mount procps linux-image-amd64 initramfs-tools
  runc conmon catatonit busybox-static containernetworking-plugins iptables iproute2 util-linux
  golang-github-containers-common libstdc++6 criu aardvark-dns)
# Free room on the disk for containers, volumes and logs (writes go to qemu's snapshot anyway).
FREE_MIB=1536

node_binary=${NODE_BINARY:-$(command -v node)}
[ -x "$node_binary" ] || { echo "build-image: no Node.js binary at '$node_binary' (set NODE_BINARY)" >&2; exit 2; }
for tool in mmdebstrap mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (apt-get install mmdebstrap e2fsprogs)" >&2; exit 2; }
done

key=$( { cat "$here/build-image.sh" "$here/initrd-config.sh" "$here/customize.sh" "$here"/in-guest/*; sha256sum < "$node_binary"; } | sha256sum | cut -c1-16)
image="$cache/image-$key"
if [ -f "$image/complete" ]; then echo "$image"; exit 0; fi

mkdir -p "$cache/debs"
# One build at a time per checkout: a second caller waits, then finds the image made.
exec 9> "$cache/build.lock"
flock 9
if [ -f "$image/complete" ]; then echo "$image"; exit 0; fi

# What builds killed before their cleanup left (none runs now: this one holds the lock).
rm -rf "$cache"/build-*
work="$cache/build-$key.$$"
# The log stays when the build fails (its end is printed); the next build removes it.
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 143' INT TERM
rm -rf "$image"
mkdir -p "$work"
started=$(date +%s)

# The host's own Debian sources (a fresh machine of this kind has them); mmdebstrap's default otherwise.
mirrors=()
[ -f /etc/apt/sources.list.d/debian.sources ] && mirrors=(/etc/apt/sources.list.d/debian.sources)

echo "build-image: building the guest image $key (a few minutes; log in $work.log)" >&2
# The .debs are kept in .cache/guest/debs between builds (mmdebstrap's documented pattern); the
# image itself ends without them (mmdebstrap's cleanup runs after the customize hooks).
if ! mmdebstrap --variant=apt --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$cache/debs' /var/cache/apt/archives/" \
    --essential-hook="$here/initrd-config.sh" \
    --customize-hook="sync-out /var/cache/apt/archives '$cache/debs'" \
    --customize-hook="upload '$node_binary' /usr/local/bin/node" \
    --customize-hook="upload '$here/in-guest/corral-job' /usr/local/sbin/corral-job" \
    --customize-hook="upload '$here/in-guest/corral-job.service' /etc/systemd/system/corral-job.service" \
    --customize-hook="$here/customize.sh" \
    bookworm "$work/root" "${mirrors[@]}" > "$work.log" 2>&1; then
  echo "build-image: mmdebstrap failed; the end of its log ($work.log):" >&2
  tail -30 "$work.log" >&2
  exit 1
fi

mkdir -p "$work/out"
cp "$work"/root/boot/vmlinuz-* "$work/out/vmlinuz"
cp "$work"/root/boot/initrd.img-* "$work/out/initrd.img"
size=$(( $(du -sm "$work/root" | cut -f1) + FREE_MIB ))
# mkfs.ext4 -d names each special file it copies, even with -q: into the log, not onto stdout.
mkfs.ext4 -q -L corral-guest -b 4096 -d "$work/root" "$work/out/disk.img" "${size}M" >> "$work.log"
echo "$key built in $(( $(date +%s) - started ))s from $(basename "$node_binary") $("$node_binary" --version)" > "$work/out/complete"
mv "$work/out" "$image"
mv "$work.log" "$image/build.log"
# Images of older recipes are of no further use here.
for old in "$cache"/image-*; do
  [ "$old" = "$image" ] || rm -rf "$old"
done
echo "build-image: built $image in $(( $(date +%s) - started ))s" >&2
echo "$image"
exit
}
