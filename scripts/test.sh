#!/usr/bin/env bash
# The test command of the README: sets the machine up (idempotent), then runs every uvu suite against
# real containers and ends with one line `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export CORRAL_TEST_ROOTFS="${CORRAL_TEST_ROOTFS:-$PWD/.cache/rootfs/busybox}"
bash scripts/build-rootfs.sh "$CORRAL_TEST_ROOTFS"
# The test guest's image (test/hosts) is kept outside the checkout, so that a fresh clone on the same
# machine (CI's) boots the one built before instead of spending minutes building it again.
export CORRAL_GUEST_CACHE="${CORRAL_GUEST_CACHE:-/var/cache/corral-guest}"
exec node scripts/run-tests.mjs "$@"
