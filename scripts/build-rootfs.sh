#!/usr/bin/env bash
# Builds a minimal root filesystem from Debian's busybox-static: one static binary, a symlink per applet,
# and the /etc files that user and group resolution need. Idempotent: an existing complete rootfs is kept.
# usage: build-rootfs.sh DIR
set -euo pipefail
dir=${1:?usage: build-rootfs.sh DIR}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-rootfs: $busybox is missing (apt-get install busybox-static)" >&2; exit 2; }
if [ -f "$dir/.corral-rootfs" ]; then exit 0; fi
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$(dirname "$dir")/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,var/www,root,home/app}
chmod 1777 "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$tmp/bin/$applet"
done
cat > "$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$tmp/etc/group" <<'G'
root:x:0:
daemon:x:1:
www-data:x:33:
users:x:100:app
app:x:1000:
nogroup:x:65534:
G
chown 1000:1000 "$tmp/home/app"
echo "corral busybox rootfs" > "$tmp/.corral-rootfs"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
