#!/usr/bin/env bash
# `npm run bench`: sets the machine up, adds what only the benchmark needs (podman for comparison,
# GNU time for peak RSS), then runs bench/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
missing=()
for package in podman catatonit time python3; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
exec node dist/bench/run.js
