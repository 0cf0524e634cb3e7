#!/usr/bin/env bash
# The floor: N sleeping busybox containers started by conmon + runc directly, one after another, each
# with its own network namespace (ip netns, loopback up), then torn down. No orchestrator: this is the
# least any tool on this stack can take. Prints "UP_SECONDS DOWN_SECONDS".
# usage: floor.sh ROOTFS N
set -euo pipefail
rootfs=$1; n=${2:-10}
work=$(mktemp -d /run/corral-floor.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/runc" "$work/exits" "$work/sockets"
cd "$work"
runc spec
python3 - "$rootfs" <<'PY'
import json, sys
spec = json.load(open('config.json'))
spec['process']['terminal'] = False
spec['process']['args'] = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait']
spec['root'] = {'path': sys.argv[1], 'readonly': True}
spec['linux']['namespaces'] = [ns for ns in spec['linux']['namespaces'] if ns['type'] != 'network'] + [{'type': 'network', 'path': 'NETNS'}]
json.dump(spec, open('config.template', 'w'))
PY
id=floor$$
start=$(date +%s.%N)
for i in $(seq 1 "$n"); do
  ip netns add "$id-$i"; ip -n "$id-$i" link set lo up
  mkdir -p "b$i"; sed "s#NETNS#/run/netns/$id-$i#" config.template > "b$i/config.json"
  conmon --api-version 1 -c "$id-$i" -u "$id-$i" -n "$id-$i" -r "$(command -v runc)" -b "$work/b$i" -p "$work/b$i/pid" \
    -l "k8s-file:$work/b$i/log" --exit-dir "$work/exits" --socket-dir-path "$work/sockets" --runtime-arg "--root=$work/runc" 2>/dev/null
  while [ ! -s "$work/b$i/pid" ]; do sleep 0.001; done
  runc --root "$work/runc" start "$id-$i"
done
up=$(date +%s.%N)
for i in $(seq 1 "$n"); do runc --root "$work/runc" kill "$id-$i" KILL; done
for i in $(seq 1 "$n"); do
  while [ ! -e "$work/exits/$id-$i" ]; do sleep 0.005; done
  runc --root "$work/runc" delete "$id-$i"; ip netns del "$id-$i"
done
down=$(date +%s.%N)
cd /
python3 -c "print(f'{$up-$start:.3f} {$down-$up:.3f}')"
