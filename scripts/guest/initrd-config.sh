#!/usr/bin/env bash
# mmdebstrap essential hook for build-image.sh ($1: the guest's root), before the kernel package is
# installed: its initrd gets only what finds the root, a raw ext4 filesystem on a virtio disk; the
# rest loads from that disk. Debian's default (MODULES=most) makes a far larger initrd, slower to
# build and, under emulation, to boot.
set -euo pipefail
target=$1
mkdir -p "$target/etc/initramfs-tools/conf.d" "$target/etc/initramfs-tools/hooks"
echo MODULES=list > "$target/etc/initramfs-tools/conf.d/corral-guest"
cat > "$target/etc/initramfs-tools/hooks/corral-guest" <<'HOOK'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk ext4
HOOK
chmod 0755 "$target/etc/initramfs-tools/hooks/corral-guest"
