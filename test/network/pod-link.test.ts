import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { bridgeMac, ensureBridge, linkPod, unlinkPod } from '../../src/network/pod-link.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// A pod's link made by Corral, on the host's real kernel: network namespaces of the suite's own
// (`ip netns`, named so the checks can use `ip -n`), a bridge and subnet outside Corral's pool. No
// packet leaves the namespaces and the bridge; everything is removed at the end.

interface Context { namespaces: string[] }
const link = suite<Context>('pod links: a veth on the bridge, addressed and routed in the pod');

const bridge = `crt${process.pid}`.slice(0, 15);
const subnet = { cidr: '10.66.20.0/24', gateway: '10.66.20.1' };
const netnsPath = (name: string) => `/run/netns/${name}`;

link.before(async (context) => {
  context.namespaces = [`corral-t${process.pid}-a`, `corral-t${process.pid}-b`];
  for (const name of context.namespaces) await execa('ip', ['netns', 'add', name]);
});

link.after(async (context) => {
  for (const name of context.namespaces) await execa('ip', ['netns', 'del', name], { reject: false });
  await execa('ip', ['link', 'del', bridge], { reject: false });
});

const inPod = async (name: string, args: string[]) => String((await execa('ip', ['-n', name, ...args])).stdout);

link('the bridge is made once with its gateway and its own MAC, also when attaches race', async () => {
  await Promise.all([ensureBridge(bridge, subnet), ensureBridge(bridge, subnet), ensureBridge(bridge, subnet)]);
  const shown = String((await execa('ip', ['-o', 'addr', 'show', 'dev', bridge])).stdout);
  assert.match(shown, `inet ${subnet.gateway}/24`);
  assert.is((await readFile(`/sys/class/net/${bridge}/address`, 'utf8')).trim(), bridgeMac(bridge));
  assert.is((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(), '1', 'forwarding on');
});

link('two pods get their interface, address, default route and hairpin port; the bridge keeps its MAC when one leaves', async ({ namespaces }) => {
  const [a, b] = namespaces as [string, string];
  const hostA = await linkPod({ netns: netnsPath(a), ifName: 'eth0', bridge, subnet, address: '10.66.20.2', defaultRoute: true, mac: '02:00:00:00:20:02' });
  const hostB = await linkPod({ netns: netnsPath(b), ifName: 'eth1', bridge, subnet, address: '10.66.20.3', defaultRoute: false });
  assert.match(await inPod(a, ['-o', 'addr', 'show', 'dev', 'eth0']), 'inet 10.66.20.2/24');
  assert.match(await inPod(a, ['link', 'show', 'dev', 'eth0']), 'link/ether 02:00:00:00:20:02');
  assert.match(await inPod(a, ['route', 'show', 'default']), `default via ${subnet.gateway} dev eth0`);
  assert.is(await inPod(b, ['route', 'show', 'default']), '', 'no default route where not asked');
  for (const end of [hostA, hostB]) {
    assert.is((await readFile(`/sys/class/net/${end}/master/uevent`, 'utf8')).match(/INTERFACE=(\S+)/)?.[1], bridge, `${end} is on the bridge`);
    assert.is((await readFile(`/sys/class/net/${end}/brport/hairpin_mode`, 'utf8')).trim(), '1', `${end} in hairpin mode`);
  }
  // The test image's static busybox: the host may have no ping.
  const busybox = path.join(process.env.CORRAL_TEST_ROOTFS ?? path.join(repositoryRoot, '.cache/rootfs/busybox'), 'bin/busybox');
  const ping = await execa('ip', ['netns', 'exec', b, busybox, 'ping', '-c', '1', '-W', '2', '10.66.20.2'], { reject: false });
  assert.is(ping.exitCode, 0, `b reaches a over the bridge: ${ping.stdout}${ping.stderr}`);
  await unlinkPod(netnsPath(a), 'eth0');
  assert.is((await execa('ip', ['link', 'show', hostA], { reject: false })).exitCode, 1, 'its host end went with it');
  assert.is((await readFile(`/sys/class/net/${bridge}/address`, 'utf8')).trim(), bridgeMac(bridge), 'the bridge kept its MAC');
  await unlinkPod(netnsPath(a), 'eth0');
});

link('an interface an interrupted attach left is replaced', async ({ namespaces }) => {
  const [, b] = namespaces as [string, string];
  const again = await linkPod({ netns: netnsPath(b), ifName: 'eth1', bridge, subnet, address: '10.66.20.4', defaultRoute: true });
  assert.match(await inPod(b, ['-o', 'addr', 'show', 'dev', 'eth1']), 'inet 10.66.20.4/24');
  assert.not.match(await inPod(b, ['-o', 'addr', 'show', 'dev', 'eth1']), '10.66.20.3', 'the old address went with the old interface');
  assert.ok((await readFile(`/sys/class/net/${again}/brport/hairpin_mode`, 'utf8')).trim() === '1');
  await unlinkPod(netnsPath(b), 'eth1');
  assert.is(await inPod(b, ['-o', 'link', 'show', 'type', 'veth']), '', 'nothing left in the pod');
});

link.run();
