import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ensureBridge, LinkError, linkPod, unlinkPod } from '../../src/network/pod-link.js';

// The failures of a pod's link, on the host's real kernel: what is made half-way is removed, the error
// names the step and the interface, and a detach finds nothing to do where the namespace is gone. The
// suite's own namespace (`ip netns`), bridge and subnet outside Corral's pool; everything removed at the end.

interface Context { namespace: string; scratch: string }
const failures = suite<Context>('pod links: failures leave nothing and say where');

const bridge = `crf${process.pid}`.slice(0, 15);
const subnet = { cidr: '10.66.21.0/24', gateway: '10.66.21.1' };
const netnsPath = (name: string) => `/run/netns/${name}`;

failures.before(async (context) => {
  context.namespace = `corral-f${process.pid}`;
  context.scratch = await mkdtemp(path.join(tmpdir(), 'corral-pod-link-'));
  await execa('ip', ['netns', 'add', context.namespace]);
  await ensureBridge(bridge, subnet);
});

failures.after(async (context) => {
  await execa('ip', ['netns', 'del', context.namespace], { reject: false });
  await execa('ip', ['link', 'del', bridge], { reject: false });
  await rm(context.scratch, { recursive: true, force: true });
});

const vethsInPod = async (name: string) => String((await execa('ip', ['-n', name, '-o', 'link', 'show', 'type', 'veth'])).stdout);
const portsOfBridge = async () => readdir(`/sys/class/net/${bridge}/brif`);

failures('a bridge that is not there: the error names it and the interface, and nothing is made', async ({ namespace }) => {
  const error = await linkPod({ netns: netnsPath(namespace), ifName: 'eth0', bridge: 'crf-missing', subnet, address: '10.66.21.2', defaultRoute: true }).catch((caught: unknown) => caught);
  assert.instance(error, LinkError, 'a LinkError');
  const message = (error as Error).message;
  assert.match(message, 'eth0', `names the interface: ${message}`);
  assert.match(message, 'find bridge crf-missing', `names the step and the bridge: ${message}`);
  assert.is(((error as Error).cause as { code?: string }).code, 'ENODEV', 'keeps the errno-shaped cause');
  assert.is(await vethsInPod(namespace), '', 'no interface in the pod');
});

failures('a step that fails after the veth was made (a gateway off the subnet) removes both ends', async ({ namespace }) => {
  const before = await portsOfBridge();
  const error = await linkPod({ netns: netnsPath(namespace), ifName: 'eth0', bridge, subnet: { ...subnet, gateway: '10.66.99.1' }, address: '10.66.21.2', defaultRoute: true }).catch((caught: unknown) => caught);
  assert.instance(error, LinkError, 'a LinkError');
  assert.match((error as Error).message, /add default route via 10\.66\.99\.1 on eth0 in \/run\/netns\//, `names the step and the interface: ${(error as Error).message}`);
  assert.is(await vethsInPod(namespace), '', 'nothing left in the pod');
  assert.equal(await portsOfBridge(), before, 'no host end left on the bridge');
});

failures('the same link then works, and unlinking it twice is no error', async ({ namespace }) => {
  const hostEnd = await linkPod({ netns: netnsPath(namespace), ifName: 'eth0', bridge, subnet, address: '10.66.21.2', defaultRoute: true });
  assert.ok((await portsOfBridge()).includes(hostEnd), 'the host end is on the bridge');
  await unlinkPod(netnsPath(namespace), 'eth0');
  await unlinkPod(netnsPath(namespace), 'eth0');
  assert.is(await vethsInPod(namespace), '', 'nothing left in the pod');
  assert.not.ok((await portsOfBridge()).includes(hostEnd), 'the host end went with it');
});

failures('unlinking where the namespace is gone is no error: its file missing, or its pin unmounted', async ({ scratch }) => {
  assert.is(await unlinkPod(path.join(scratch, 'missing'), 'eth0'), undefined, 'a missing file resolves');
  // What a pin is once its bind mount is gone: a plain empty file.
  const unmountedPin = path.join(scratch, 'net');
  await writeFile(unmountedPin, '');
  assert.is(await unlinkPod(unmountedPin, 'eth0'), undefined, 'an unmounted pin resolves');
});

failures.run();
