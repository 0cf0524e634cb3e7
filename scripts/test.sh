#!/usr/bin/env bash
# The test command of the README: sets the machine up (idempotent), then runs every uvu suite against
# real containers and ends with one line `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export CORRAL_TEST_ROOTFS="${CORRAL_TEST_ROOTFS:-$PWD/.cache/rootfs/busybox}"
bash scripts/build-rootfs.sh "$CORRAL_TEST_ROOTFS"
exec node scripts/run-tests.mjs "$@"
