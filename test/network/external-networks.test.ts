import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { findLeaks } from '../helpers/leaks.js';
import { corral, createProjectSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { corralOwnDirs, hostNetworkPaths } from '../../src/state/paths.js';
import { bridgeOf } from '../../src/network/config-list.js';
import { createHostNetwork, hostCniName, HostNetworkError } from '../../src/network/host-network.js';

// A host network shared by two projects, with real pods and real traffic between pods this suite
// made: `corral network create` makes it, a project in Corral's format and one from a compose file
// join it (external: true), their pods reach each other by pod name and project-qualified name and
// nothing else of the other project, `network rm` refuses while pods are on it and names them, a
// project naming a network the host lacks is refused at its line, `down` of one project leaves the
// network and the other's pods working (and the names of the gone pods leave the other's hosts
// files), and `network rm` then removes everything. Every request is bounded by timeout(1).

interface Context { sandbox: Sandbox; project: string; other: string; missing: string; network: string; file: string; compose: string; subnet: string }
const shared = suite<Context>('external networks: one host network shared by two projects');

const serve = (text: string) => `mkdir -p /w && echo ${text} > /w/index.html && exec httpd -f -p 80 -h /w`;

/** Fetches a page from inside a pod of the project; the body, or '' when it could not. */
async function fetchInside(context: Context, project: string, pod: string, url: string): Promise<string> {
  const result = await inside(context.sandbox, project, pod, `timeout 3 wget -q -O- ${url}`);
  return result.exitCode === 0 ? String(result.stdout).trim() : '';
}

/** The pod's address on each of its networks, from its attachment record. */
async function addressesOf(context: Context, project: string, pod: string): Promise<Record<string, string>> {
  const record = JSON.parse(await readFile(path.join(context.sandbox.run, project, 'pods', pod, 'network.json'), 'utf8')) as { networks: { network: string; ip: string }[] };
  return Object.fromEntries(record.networks.map((one) => [one.network, one.ip]));
}

const hostsOf = async (context: Context, project: string, pod: string) => String((await inside(context.sandbox, project, pod, 'cat /etc/hosts')).stdout);

shared.before(async (context) => {
  Object.assign(context, await createProjectSandbox('external-networks', 'first'));
  context.other = context.sandbox.projectName('second');
  context.missing = context.sandbox.projectName('missing');
  context.network = context.sandbox.projectName('shared');
  context.subnet = `10.89.${100 + (process.pid % 100)}.0/24`;
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(context.file, `
networks:
  edge: { external: true, name: ${context.network} }
pods:
  front:
    networks:
      edge: { aliases: [gateway] }
    containers:
      web: { rootfs: ${rootfs}, command: ["sh", "-c", "${serve('hello-from-front')}"], stop_signal: SIGKILL }
  inner:
    containers:
      web: { rootfs: ${rootfs}, command: ["sh", "-c", "${serve('hello-from-inner')}"], stop_signal: SIGKILL }
`);
  const image = await buildBusyboxImage(rootfs, context.sandbox.work, { Cmd: ['sh', '-c', serve('hello-from-api')], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  context.compose = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(context.compose, `services:
  api:
    image: "oci:${image.layout}:${image.tag}"
    stop_signal: SIGKILL
    networks: [proxy]
networks:
  proxy:
    external: true
    name: ${context.network}
`);
});

shared.after(async (context) => {
  for (const project of [context.project, context.other, context.missing]) await corral(context.sandbox, ['-p', project, 'down']);
  await corral(context.sandbox, ['network', 'rm', context.network]);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project, context.other, context.missing], hostNetworks: [context.network] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `nothing of the projects or the host network is left, but: ${leaks.join('; ')}`);
});

shared('a project naming an external network the host lacks is refused at its line, with how to make it', async (context) => {
  const file = path.join(context.sandbox.work, 'missing.yaml');
  await writeFile(file, `pods:\n  lone:\n    networks: [edge]\n    containers:\n      web: { rootfs: ${context.sandbox.env.CORRAL_ROOTFS}, command: ["true"] }\nnetworks:\n  edge:\n    external: true\n    name: ${context.network}\n`);
  const up = await corral(context.sandbox, ['-f', file, '-p', context.missing, 'up', '-d']);
  assert.is(up.exitCode, 1, `refused as input: ${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, `${file}:7:3: network edge is external, and this host has no network ${context.network}`, `at the network's line: ${up.stderr}`);
  assert.match(up.stderr, `corral network create ${context.network}`, 'with how to make it');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.missing, 'pods', 'lone')), 'before any pod was made');
});

shared('network create makes a host network once, root-only and outside every project; a second create of the name is refused', async (context) => {
  const made = await corral(context.sandbox, ['network', 'create', '--subnet', context.subnet, context.network]);
  assert.is(made.exitCode, 0, made.stderr);
  assert.is(made.stdout.trim(), context.network);
  const again = await corral(context.sandbox, ['network', 'create', context.network]);
  assert.is(again.exitCode, 1, 'a name is made once');
  assert.match(again.stderr, `network ${context.network} already exists`);
  const paths = hostNetworkPaths({ run: context.sandbox.run, state: context.sandbox.state });
  const record = JSON.parse(await readFile(paths.record(context.network), 'utf8')) as { subnet: { cidr: string }; bridge: string };
  assert.is(record.subnet.cidr, context.subnet, 'on the subnet asked for');
  assert.is(record.bridge, bridgeOf(paths.subnetOwner(context.network)));
  const { execa } = await import('execa');
  const mode = String((await execa('stat', ['-c', '%a', paths.records])).stdout).trim();
  assert.is(mode, '700', 'the records are root-only');
  assert.ok(corralOwnDirs({ run: context.sandbox.run, state: context.sandbox.state }).includes(paths.records), 'and Corral\'s own (no bind mount of them)');
  const listed = await corral(context.sandbox, ['network', 'ls']);
  assert.match(listed.stdout, new RegExp(`\\n-\\s+${context.network}\\s+${record.bridge}\\s+${context.subnet.replaceAll('.', '\\.')}\\s+false\\s+-`), `ls shows it, no pod yet:\n${listed.stdout}`);
});

shared('concurrent creates of one name: exactly one wins, the other is told the name is taken', async (context) => {
  const dirs = { run: context.sandbox.run, state: context.sandbox.state };
  const name = context.sandbox.projectName('race');
  const results = await Promise.allSettled([createHostNetwork(dirs, { name, internal: false }), createHostNetwork(dirs, { name, internal: false })]);
  assert.is(results.filter((result) => result.status === 'fulfilled').length, 1, 'one made it');
  const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
  assert.instance(refused.reason, HostNetworkError);
  assert.match(String(refused.reason.message), 'already exists');
  const removed = await corral(context.sandbox, ['network', 'rm', name]);
  assert.is(removed.exitCode, 0, removed.stderr);
});

shared('two projects on the network reach each other by pod name and project-qualified name, and nothing else of each other', async (context) => {
  const first = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(first.exitCode, 0, `${first.stdout}\n${first.stderr}`);
  const second = await corral(context.sandbox, ['-f', context.compose, '-p', context.other, 'up', '-d']);
  assert.is(second.exitCode, 0, `${second.stdout}\n${second.stderr}`);
  assert.not.match(second.stderr, /external/, `no warning about the external network: ${second.stderr}`);
  const front = await addressesOf(context, context.project, 'front');
  const api = await addressesOf(context, context.other, 'api');
  assert.is(front.edge!.split('.').slice(0, 3).join('.'), context.subnet.split('.').slice(0, 3).join('.'), 'front is on the host network\'s subnet');
  assert.is(api.proxy!.split('.').slice(0, 3).join('.'), context.subnet.split('.').slice(0, 3).join('.'), 'and so is api, under its own project\'s name for it');
  assert.is.not(front.edge, api.proxy, 'with addresses of one pool: leases are shared');
  const page = await eventually(async () => (await fetchInside(context, context.other, 'api.api', 'http://front/index.html')) || undefined, 'api to reach front by name');
  assert.is(page, 'hello-from-front');
  assert.is(await fetchInside(context, context.other, 'api.api', `http://front.${context.project}/index.html`), 'hello-from-front', 'and by its project-qualified name');
  assert.is(await fetchInside(context, context.other, 'api.api', 'http://gateway/index.html'), 'hello-from-front', 'and by its alias on the network');
  assert.is(await fetchInside(context, context.project, 'front.web', 'http://api/index.html'), 'hello-from-api', 'front reaches api by name');
  assert.is(await fetchInside(context, context.project, 'front.web', `http://api.${context.other}/index.html`), 'hello-from-api', 'and by its project-qualified name');
  const inner = await addressesOf(context, context.project, 'inner');
  assert.is(await fetchInside(context, context.other, 'api.api', `http://${inner.default}/index.html`), '', 'api cannot reach a pod of the first project on another network');
  assert.not.match(await hostsOf(context, context.other, 'api.api'), /\binner\b/, 'nor does it know its name');
  const rows = JSON.parse((await corral(context.sandbox, ['network', 'inspect', context.network])).stdout) as { project: string; pods: { pod: string; ip: string }[] }[];
  assert.equal(rows[0]?.pods, [{ pod: `${context.project}/front`, ip: front.edge }, { pod: `${context.other}/api`, ip: api.proxy }], 'inspect names the pods of both projects');
});

shared('network rm refuses while pods are on it, naming them, and removes nothing', async (context) => {
  const removed = await corral(context.sandbox, ['network', 'rm', context.network]);
  assert.is(removed.exitCode, 1, removed.stdout);
  assert.match(removed.stderr, `nothing removed: ${context.network} is used by ${context.project}/front, ${context.other}/api`, removed.stderr);
  assert.ok(existsSync(hostNetworkPaths({ run: context.sandbox.run, state: context.sandbox.state }).record(context.network)), 'the record stays');
  assert.is(await fetchInside(context, context.project, 'front.web', 'http://api/index.html'), 'hello-from-api', 'and the pods still meet');
});

/** The rules on the host that name one address: a pod's own (portmap's, or the firewall plugin's of a list an older Corral recorded). */
async function rulesNaming(address: string): Promise<string[]> {
  const { execa } = await import('execa');
  return String((await execa('iptables-save')).stdout).split('\n').filter((rule) => rule.startsWith('-A ') && (rule.includes(` ${address}/32 `) || rule.includes(` ${address}:`)));
}

/** host-local's lease of an address on the host network (a file named by the address, shared by every project on it). */
const leaseOf = (context: Context, address: string) => path.join(hostNetworkPaths({ run: context.sandbox.run, state: context.sandbox.state }).leases, hostCniName(context.network), address);

shared('a pod whose attachment record a crash lost is attached anew; its old address is released, the other project\'s pod keeps its own', async (context) => {
  const before = (await addressesOf(context, context.project, 'front')).edge!;
  const api = (await addressesOf(context, context.other, 'api')).proxy!;
  assert.ok(existsSync(leaseOf(context, before)), 'front\'s address is leased');
  // As a kill between CNI ADD and the record leaves it: attached, and nothing says so.
  await rm(path.join(context.sandbox.run, context.project, 'pods', 'front', 'network.json'));
  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d', '--force-recreate', 'front']);
  assert.is(again.exitCode, 0, again.stderr);
  const after = (await addressesOf(context, context.project, 'front')).edge!;
  assert.is.not(after, before, 'host-local gave the new attachment the next address');
  assert.not.ok(existsSync(leaseOf(context, before)), 'the old address is released (the DEL without a result frees it by the container id)');
  assert.equal(await rulesNaming(before), [], 'and no rule names it');
  assert.ok(existsSync(leaseOf(context, after)) && existsSync(leaseOf(context, api)), 'the new address and the other project\'s are leased');
  assert.is(await fetchInside(context, context.other, 'api.api', 'http://front/index.html'), 'hello-from-front', 'and reaches front at its new address by name');
});

shared('down of one project leaves the network and the other project working; its pods leave the other\'s names', async (context) => {
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, down.stderr);
  const hosts = await hostsOf(context, context.other, 'api.api');
  assert.not.match(hosts, /\bfront\b|\bgateway\b/, `front and its alias left api's hosts file at once:\n${hosts}`);
  assert.is(await fetchInside(context, context.other, 'api.api', 'http://127.0.0.1/index.html'), 'hello-from-api', 'api still serves');
  const record = JSON.parse(await readFile(hostNetworkPaths({ run: context.sandbox.run, state: context.sandbox.state }).record(context.network), 'utf8')) as { bridge: string };
  assert.ok(existsSync(`/sys/class/net/${record.bridge}`), 'the bridge stays');
  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(again.exitCode, 0, again.stderr);
  const page = await eventually(async () => (await fetchInside(context, context.other, 'api.api', `http://front.${context.project}/index.html`)) || undefined, 'api to reach the new front');
  assert.is(page, 'hello-from-front', 'the project comes back onto it');
});

shared('with every project down, network rm removes the bridge, rules, claim and leases', async (context) => {
  for (const project of [context.project, context.other]) assert.is((await corral(context.sandbox, ['-p', project, 'down'])).exitCode, 0);
  const removed = await corral(context.sandbox, ['network', 'rm', context.network]);
  assert.is(removed.exitCode, 0, removed.stderr);
  assert.is(removed.stdout.trim(), context.network);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project, context.other], hostNetworks: [context.network] });
  assert.equal(leaks, [], `nothing of the network is left: ${leaks.join('; ')}`);
  const gone = await corral(context.sandbox, ['network', 'rm', context.network]);
  assert.is(gone.exitCode, 1, 'a second rm finds nothing');
  assert.match(gone.stderr, `no host network ${context.network}`);
});

shared.run();
