#!/usr/bin/env bash
# Packs this built checkout into a raw ext4 image for run.sh --disk (mounted at /checkout in the
# guest): what running Corral and its compiled tests needs (dist, the native addon, node_modules
# less the compilers, package.json, scripts, examples) and the busybox rootfs the tests run, at
# .cache/rootfs/busybox (built here with scripts/build-rootfs.sh when missing). Symlinks given by
# name (a worktree's node_modules) are followed; those inside are kept.
# usage: pack-checkout.sh OUT.img
set -euo pipefail
out=${1:?usage: pack-checkout.sh OUT.img}
root=$(cd "$(dirname "$0")/../.." && pwd)
# Room for what the tests write into the checkout (the disk is a snapshot: nothing is kept).
FREE_MIB=256

[ -f "$root/dist/bin/corral.js" ] || { echo "pack-checkout: $root is not built (npm run build)" >&2; exit 2; }
[ -f "$root/native/build/Release/corral_native.node" ] || { echo "pack-checkout: the native addon is not built (npm ci)" >&2; exit 2; }
bash "$root/scripts/build-rootfs.sh" "$root/.cache/rootfs/busybox"

stage=$(mktemp -d "$(dirname "$out")/.checkout.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/native" "$stage/.cache/rootfs"
cp -a -H "$root"/{dist,node_modules,package.json,scripts,examples} "$stage/"
cp -a -H "$root/native/build" "$stage/native/"
# The compilers stay on the host: the guest runs what the host built.
rm -rf "$stage/node_modules"/{typescript,@esbuild,esbuild}
cp -a -H "$root/.cache/rootfs/busybox" "$stage/.cache/rootfs/"
rm -f "$out"
# mkfs.ext4 -d names each special file it copies, even with -q.
mkfs.ext4 -q -L corral-checkout -d "$stage" "$out" "$(( $(du -sm "$stage" | cut -f1) + FREE_MIB ))M" > /dev/null
