#!/usr/bin/env bash
# Makes a fresh Debian machine ready for Corral, idempotently: the system packages it uses, the npm
# dependencies with the native addon and the TypeScript build, and the busybox rootfs the examples
# and tests run. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(runc conmon catatonit busybox-static containernetworking-plugins aardvark-dns iptables iproute2 util-linux golang-github-containers-common gcc g++ make python3 libc6-dev skopeo docker-registry buildah git qemu-system-x86 mmdebstrap docker.io)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f native/build/Release/corral_native.node ] || [ ! -x native/build/Release/corral-notify-keeper ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build

bash scripts/build-rootfs.sh "${CORRAL_ROOTFS:-/var/lib/corral/rootfs/busybox}"

# `corral` on the PATH, pointing at this checkout's build.
chmod +x dist/bin/corral.js
ln -sfn "$PWD/dist/bin/corral.js" /usr/local/bin/corral
