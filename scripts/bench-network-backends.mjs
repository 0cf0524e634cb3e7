#!/usr/bin/env node
// Measures attaching a pod's network namespace to a bridge and detaching it, on this host, with three
// backends in turns: Corral's own attach of a pod without published ports (src/network/attach-one.ts:
// a lease in host-local's store, a veth made by rtnetlink from the native addon, no process; the NAT
// and forwarding rules are the network's, made once: network-rules.ts), the CNI plugins as Corral ran them before (bridge with
// host-local and ipMasq, portmap, firewall: per-pod rules), and netavark (podman 5's network stack,
// Debian's `netavark`). Each round attaches one
// namespace with each (which goes first rotates), and keeps it attached, so that the Nth ADD finds
// N-1 pods on its bridge as in an `up` of N pods; the DELs go in reverse the same way. Prints
// per-operation median and mean for each, and the load average.
//
//   node scripts/bench-network-backends.mjs [PODS]       (root; after `npm run build`)
//
// They use subnets outside Corral's pool (10.76.0.0/24, 10.77.0.0/24, 10.78.0.0/24) and bridges of
// their own (cb-own0, cb-cni0, cb-nva0); no packet is sent. Everything is removed at the end, also after a failure.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { addNetwork, deleteNetwork } from '../dist/src/network/cni.js';
import { attachToOne, detachFromOne } from '../dist/src/network/attach-one.js';
import { configList, podConfig } from '../dist/src/network/config-list.js';

const NETAVARK = process.env.NETAVARK || '/usr/lib/podman/netavark';
const pods = Number(process.argv[2] ?? 20);
const work = await mkdtemp(path.join(tmpdir(), 'corral-netbench-'));
const namespaces = Array.from({ length: pods }, (_, index) => ({ own: `corral-nb-${process.pid}-l${index}`, cni: `corral-nb-${process.pid}-c${index}`, netavark: `corral-nb-${process.pid}-n${index}`, index }));
const ownList = podConfig(configList({ name: `corral-netbench-own-${process.pid}`, bridge: 'cb-own0', subnet: { cidr: '10.76.0.0/24', gateway: '10.76.0.1' }, internal: false, leases: path.join(work, 'ipam') }), { defaultRoute: true, ports: false });
// The list before network-rules.ts: the plugins made the NAT and forwarding rules for every pod.
const cniList = {
  cniVersion: '1.0.0',
  name: `corral-netbench-${process.pid}`,
  plugins: [
    { type: 'bridge', bridge: 'cb-cni0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24', gateway: '10.77.0.1' }]], dataDir: path.join(work, 'ipam'), routes: [{ dst: '0.0.0.0/0' }] } },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    { type: 'firewall', backend: 'iptables' },
  ],
};

const netavarkOptions = (index) => JSON.stringify({
  container_id: `netbench${process.pid}x${index}`,
  container_name: `netbench-${index}`,
  networks: { netbench: { interface_name: 'eth0', static_ips: [`10.78.0.${index + 2}`] } },
  network_info: {
    netbench: {
      dns_enabled: false, driver: 'bridge', id: 'c0ffee'.padEnd(64, '0'), internal: false, ipv6_enabled: false,
      name: 'netbench', network_interface: 'cb-nva0', subnets: [{ gateway: '10.78.0.1', subnet: '10.78.0.0/24' }],
    },
  },
});

const cniAttachment = (ns) => ({ containerId: `netbench-${ns.index}`, netns: `/run/netns/${ns.cni}`, ifName: 'eth0', capabilityArgs: { portMappings: [] } });
const ownAttachment = (ns) => ({ containerId: `netbench-${ns.index}`, netns: `/run/netns/${ns.own}`, ifName: 'eth0' });
const detachOwn = (ns, result) => detachFromOne({ config: ownList, ifName: 'eth0', capabilityArgs: {}, result, linkedByCorral: true }, { containerId: `netbench-${ns.index}`, netns: `/run/netns/${ns.own}` });
const netavark = (command, ns) => execa(NETAVARK, ['--config', path.join(work, 'netavark'), command, `/run/netns/${ns.netavark}`], { input: netavarkOptions(ns.index) });

const times = { ownAdd: [], ownDel: [], cniAdd: [], cniDel: [], netavarkAdd: [], netavarkDel: [] };
async function timed(bucket, work) {
  const started = performance.now();
  await work();
  times[bucket].push(performance.now() - started);
}

// netavark leaves its top chains (and the jumps to them) after the last teardown, as Corral leaves its
// CORRAL-FORWARD: a host that had none before the benchmark has none after it.
const NETAVARK_CHAINS = { filter: { NETAVARK_FORWARD: ['FORWARD'] }, nat: { 'NETAVARK-HOSTPORT-DNAT': ['PREROUTING', 'OUTPUT'], 'NETAVARK-HOSTPORT-MASQ': ['POSTROUTING'], 'NETAVARK-HOSTPORT-SETMARK': [] } };
const hadNetavarkChains = (await execa('iptables', ['-t', 'filter', '-S', 'NETAVARK_FORWARD'], { reject: false })).exitCode === 0;
async function removeNetavarkChains() {
  for (const [table, chains] of Object.entries(NETAVARK_CHAINS)) {
    const rules = String((await execa('iptables-save', ['-t', table])).stdout).split('\n');
    for (const [chain, from] of Object.entries(chains)) {
      for (const parent of from) {
        for (const rule of rules.filter((line) => line.startsWith(`-A ${parent} `) && line.endsWith(`-j ${chain}`))) {
          await execa('sh', ['-c', `iptables -t ${table} ${rule.replace(/^-A/, '-D')}`], { reject: false });
        }
      }
      await execa('iptables', ['-t', table, '-F', chain], { reject: false });
    }
    for (const chain of Object.keys(chains)) await execa('iptables', ['-t', table, '-X', chain], { reject: false });
  }
}

const results = new Map();
const ownResults = new Map();
/** Which backend goes first rotates from round to round. */
const rotated = (steps, index) => [...steps.slice(index % steps.length), ...steps.slice(0, index % steps.length)];
const made = [];
const loadBefore = loadavg();
try {
  for (const ns of namespaces) {
    await execa('ip', ['netns', 'add', ns.own]);
    made.push(ns.own);
    await execa('ip', ['netns', 'add', ns.cni]);
    made.push(ns.cni);
    await execa('ip', ['netns', 'add', ns.netavark]);
    made.push(ns.netavark);
  }
  for (const ns of namespaces) {
    const steps = [
      () => timed('ownAdd', async () => ownResults.set(ns.index, await attachToOne(ownList, ownAttachment(ns)))),
      () => timed('cniAdd', async () => results.set(ns.index, await addNetwork(cniList, cniAttachment(ns)))),
      () => timed('netavarkAdd', () => netavark('setup', ns)),
    ];
    for (const step of rotated(steps, ns.index)) await step();
  }
  for (const ns of [...namespaces].reverse()) {
    const steps = [
      () => timed('ownDel', async () => { await detachOwn(ns, ownResults.get(ns.index)); ownResults.delete(ns.index); }),
      () => timed('cniDel', async () => { await deleteNetwork(cniList, cniAttachment(ns), results.get(ns.index)); results.delete(ns.index); }),
      () => timed('netavarkDel', () => netavark('teardown', ns)),
    ];
    for (const step of rotated(steps, ns.index)) await step();
  }
} finally {
  for (const [index, result] of results) await deleteNetwork(cniList, cniAttachment(namespaces[index]), result).catch(() => {});
  for (const [index, result] of ownResults) await detachOwn(namespaces[index], result).catch(() => {});
  for (const name of made) await execa('ip', ['netns', 'del', name], { reject: false });
  await execa('ip', ['link', 'del', 'cb-own0'], { reject: false });
  await execa('ip', ['link', 'del', 'cb-cni0'], { reject: false });
  await execa('ip', ['link', 'del', 'cb-nva0'], { reject: false });
  await rm(work, { recursive: true, force: true });
  if (!hadNetavarkChains) await removeNetavarkChains();
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
const row = (name, values) => `${name.padEnd(14)} median ${median(values).toFixed(1).padStart(6)} ms   mean ${mean(values).toFixed(1).padStart(6)} ms   total ${(mean(values) * values.length / 1000).toFixed(2)} s`;
console.log(`${pods} pods per backend, paired; load average before ${loadBefore.map((value) => value.toFixed(2)).join(' ')}, after ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
console.log(row('Corral ADD', times.ownAdd));
console.log(row('CNI ADD', times.cniAdd));
console.log(row('netavark setup', times.netavarkAdd));
console.log(row('Corral DEL', times.ownDel));
console.log(row('CNI DEL', times.cniDel));
console.log(row('netavark tear', times.netavarkDel));
