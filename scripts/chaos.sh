#!/usr/bin/env bash
# `npm run chaos`: the crash trials, long and with fresh seeds, outside CI. Runs the random kills
# (test/chaos/kill.test.ts) for CORRAL_CHAOS_TRIALS trials (default 300) from a random first seed,
# each trial printed with its own seed, and the crash at every step of every occurrence
# (test/chaos/crash-points.test.ts). A failing trial replays alone with
# CORRAL_CHAOS_SEED=<its seed> CORRAL_CHAOS_TRIALS=1 npm run chaos.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export CORRAL_TEST_ROOTFS="${CORRAL_TEST_ROOTFS:-$PWD/.cache/rootfs/busybox}"
bash scripts/build-rootfs.sh "$CORRAL_TEST_ROOTFS"
export CORRAL_CHAOS_TRIALS="${CORRAL_CHAOS_TRIALS:-300}"
export CORRAL_CHAOS_SEED="${CORRAL_CHAOS_SEED:-$(( (RANDOM << 16 | RANDOM) & 0x7fffffff ))}"
export CORRAL_CRASH_EVERY_OCCURRENCE="${CORRAL_CRASH_EVERY_OCCURRENCE:-1}"
echo "chaos: $CORRAL_CHAOS_TRIALS trials from seed $CORRAL_CHAOS_SEED, crash points at every occurrence: $CORRAL_CRASH_EVERY_OCCURRENCE"
exec node scripts/run-tests.mjs "${1:-chaos/(kill|crash-points)}"
