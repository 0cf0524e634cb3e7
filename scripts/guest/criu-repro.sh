#!/usr/bin/env bash
# The minimal checkpoint/restore reproducer of issue 23, outside Corral: does this host's CRIU dump
# and restore a plain runc container? Prints the kernel and CRIU versions and `criu check`, then runs
# a busybox container whose shell counts in memory and prints once a second, twice:
#   plain:  `runc run -d` (it writes its count to a file in its rootfs), `runc checkpoint`, `runc restore -d`;
#   conmon: conmon creates it (its stdout goes to conmon's k8s-file log), `runc checkpoint`, then a new
#           conmon with `--restore IMAGES` (conmon runs `runc restore --detach --image-path IMAGES`),
#           the way libpod restores a container.
# Each passes when the count after the restore goes on from the last number before it (not from 1).
# On a failure it prints the end of CRIU's log (dump.log / restore.log) and stops with exit code 1.
# Timings (ms) are printed as `timing NAME MS` lines. Meant for the test guest (scripts/guest/run.sh:
# `bash scripts/guest/criu-repro.sh .cache/rootfs/busybox` in a job's command), runs on any host as root.
# usage: criu-repro.sh ROOTFS [WORKDIR]
set -euo pipefail
rootfs=${1:?usage: criu-repro.sh ROOTFS [WORKDIR]}
work=${2:-$(mktemp -d /var/tmp/criu-repro.XXXXXX)}
# Seconds the container counts before the checkpoint, and after the restore before the count is read.
COUNT_SECONDS=4
# How long a restored count gets to show a new number (emulated guests are slow).
SETTLE_SECONDS=30
ID=criu-repro

runc_root=$work/runc
mkdir -p "$work" "$runc_root"
# Nothing keeps running after a failure (its conmon exits with the container).
trap 'runc --root "$runc_root" delete --force "$ID" > /dev/null 2>&1 || true' EXIT
now_ms() { date +%s%3N; }
fail() {
  echo "FAIL: $*"
  for log in "$work"/*/dump.log "$work"/*/restore.log "$work"/bundle-*/restore.log; do
    [ -f "$log" ] || continue
    echo "--- the end of $log"
    tail -40 "$log"
  done
  exit 1
}

echo "kernel $(uname -r)"
echo "runc: $(runc --version | head -1)"
echo "conmon: $(conmon --version | head -1)"
echo "criu: $(criu --version | tr '\n' ' ')"
started=$(now_ms)
if criu check > "$work/check.out" 2>&1; then check=ok; else check="failed ($?)"; fi
echo "timing criu-check $(( $(now_ms) - started ))"
echo "criu check: $check"
cat "$work/check.out"
[ "$check" = ok ] || fail "criu check does not pass on this host"

# A bundle from `runc spec` with the counting shell; its own copy of the rootfs (the count file is written there).
make_bundle() { # NAME COMMAND
  local bundle=$work/bundle-$1
  rm -rf "$bundle"
  mkdir -p "$bundle"
  cp -a "$rootfs" "$bundle/rootfs"
  (cd "$bundle" && runc spec)
  BUNDLE_COMMAND=$2 node -e '
    const fs = require("node:fs");
    const file = process.argv[1];
    const spec = JSON.parse(fs.readFileSync(file, "utf8"));
    spec.process.terminal = false;
    spec.process.args = ["sh", "-c", process.env.BUNDLE_COMMAND];
    spec.root.readonly = false;
    fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  ' "$bundle/config.json"
  echo "$bundle"
}

# The last number a count printed: the last line of a file, stripped of a k8s-file log's prefix.
last_count() { tail -1 "$1" 2>/dev/null | awk '{print $NF}'; }
# Passes when the number after BEFORE in FILE is BEFORE+1, i.e. the count went on rather than restarted.
check_goes_on() { # NAME FILE BEFORE
  local name=$1 file=$2 before=$3 waited=0
  while [ "$(last_count "$file")" = "$before" ] && [ $waited -lt $SETTLE_SECONDS ]; do sleep 1; waited=$((waited + 1)); done
  sleep 2
  local numbers
  numbers=$(awk '{print $NF}' "$file" | tr '\n' ' ')
  echo "$name: the count, before and after the restore: $numbers"
  awk -v before="$before" '{ n = $NF } prev == before && n == before + 1 { ok = 1 } { prev = n } END { exit ok ? 0 : 1 }' "$file" \
    || fail "$name: after the restore the count did not go on from $before: $numbers"
  echo "$name: PASS (the count went on from $before)"
}

# --- plain runc ---------------------------------------------------------------------------------------
bundle=$(make_bundle plain 'exec > /count.log 2>&1 < /dev/null; i=0; while :; do i=$((i+1)); echo $i; sleep 1; done' | tail -1)
started=$(now_ms)
runc --root "$runc_root" run -d --bundle "$bundle" "$ID" < /dev/null > "$work/plain-run.out" 2>&1 || fail "runc run -d: $(cat "$work/plain-run.out")"
echo "timing plain-run $(( $(now_ms) - started ))"
sleep $COUNT_SECONDS
mkdir -p "$work/plain-images" "$work/plain-dump"
started=$(now_ms)
runc --root "$runc_root" checkpoint --image-path "$work/plain-images" --work-path "$work/plain-dump" "$ID" > "$work/plain-checkpoint.out" 2>&1 \
  || { cat "$work/plain-checkpoint.out"; fail "plain: runc checkpoint"; }
echo "timing plain-checkpoint $(( $(now_ms) - started ))"
before=$(last_count "$bundle/rootfs/count.log")
echo "plain: checkpointed at count $before; images $(du -sh "$work/plain-images" | cut -f1)"
sleep 2
[ "$(last_count "$bundle/rootfs/count.log")" = "$before" ] || fail "plain: the count went on after the checkpoint stopped the container"
mkdir -p "$work/plain-restore"
started=$(now_ms)
runc --root "$runc_root" restore -d --image-path "$work/plain-images" --work-path "$work/plain-restore" --bundle "$bundle" "$ID" \
  < /dev/null > "$work/plain-restore.out" 2>&1 || { cat "$work/plain-restore.out"; fail "plain: runc restore"; }
echo "timing plain-restore $(( $(now_ms) - started ))"
check_goes_on plain "$bundle/rootfs/count.log" "$before"
runc --root "$runc_root" delete --force "$ID"

# conmon's first process forks and exits at once: the container exists when runc says so.
wait_for_status() { # STATUS
  local waited=0
  while [ $waited -lt $((SETTLE_SECONDS * 10)) ]; do
    runc --root "$runc_root" state "$ID" 2>/dev/null | grep -q "\"status\": \"$1\"" && return 0
    sleep 0.1; waited=$((waited + 1))
  done
  return 1
}

# --- under conmon, restored with conmon --restore ------------------------------------------------------
bundle=$(make_bundle conmon 'i=0; while :; do i=$((i+1)); echo $i; sleep 1; done' | tail -1)
mkdir -p "$work/exits" "$work/sockets"
conmon_args=(--api-version 1 -c "$ID" -u "$ID" -n "$ID" -r "$(command -v runc)" -b "$bundle"
  -p "$work/conmon.pid" --conmon-pidfile "$work/conmon-monitor.pid" -l "k8s-file:$work/conmon.log"
  --exit-dir "$work/exits" --socket-dir-path "$work/sockets" --runtime-arg "--root=$runc_root")
started=$(now_ms)
conmon "${conmon_args[@]}" < /dev/null > "$work/conmon-create.out" 2>&1 || fail "conmon create: $(cat "$work/conmon-create.out")"
wait_for_status created || fail "conmon did not create the container: $(cat "$work/conmon-create.out")"
runc --root "$runc_root" start "$ID" || fail "runc start under conmon"
echo "timing conmon-create-start $(( $(now_ms) - started ))"
sleep $COUNT_SECONDS
mkdir -p "$work/conmon-images"
started=$(now_ms)
runc --root "$runc_root" checkpoint --image-path "$work/conmon-images" --work-path "$work/conmon-images" "$ID" > "$work/conmon-checkpoint.out" 2>&1 \
  || { cat "$work/conmon-checkpoint.out"; fail "conmon: runc checkpoint"; }
echo "timing conmon-checkpoint $(( $(now_ms) - started ))"
echo "conmon: descriptors.json: $(cat "$work/conmon-images/descriptors.json")"
sleep 2
before=$(last_count "$work/conmon.log")
echo "conmon: checkpointed at count $before; the first monitor's exit file: $(cat "$work/exits/$ID" 2>&1)"
runc --root "$runc_root" delete --force "$ID" 2>/dev/null || true
rm -f "$work/exits/$ID"
started=$(now_ms)
conmon "${conmon_args[@]}" --restore "$work/conmon-images" < /dev/null > "$work/conmon-restore.out" 2>&1 \
  || { cat "$work/conmon-restore.out"; fail "conmon --restore"; }
wait_for_status running || fail "conmon --restore: the container is not running: $(cat "$work/conmon-restore.out")"
echo "timing conmon-restore $(( $(now_ms) - started ))"
check_goes_on conmon "$work/conmon.log" "$before"
runc --root "$runc_root" kill "$ID" KILL
sleep 1
runc --root "$runc_root" delete --force "$ID" 2>/dev/null || true
echo "ALL PASS"
