import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { findLeaks } from '../helpers/leaks.js';
import { until } from '../helpers/until.js';
import { corral, createProjectSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { resolverPaths } from '../../src/state/paths.js';
import { runningResolver } from '../../src/network/resolver.js';

// Names by DNS (aardvark-dns on each bridge's gateway), with real pods: a service of three replicas
// resolves to all three, a pod recreated with a new address is found there by a container that kept
// running and asks again, a replica scaled away leaves the name, a resolver that died (and a file a
// crash left) is repaired by the next `up`, a pod does not resolve the names
// of a network it is not on, two projects on a host network resolve each other, and `down` leaves
// no resolver nor entry. Lookups go through busybox's nslookup (which asks the DNS server itself) and
// through glibc's `getent hosts` run in the pod's network namespace with the pod's resolv.conf and
// hosts files. Unknown names are forwarded to loopback only (CORRAL_DNS_UPSTREAM), so no query leaves
// the host.

interface Context { sandbox: Sandbox; project: string; other: string; network: string; file: string; otherFile: string; prefix: string; ref: string }
const dns = suite<Context>('names by DNS: replicas, recreate, removal, isolation, shared networks');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

function composeFile(context: Context, options: { replicas: number; dbHost: number }): string {
  return `services:
  web:
    image: "${context.ref}"
    scale: ${options.replicas}
    stop_signal: SIGKILL
  db:
    image: "${context.ref}"
    stop_signal: SIGKILL
    networks:
      back:
        ipv4_address: ${context.prefix}.${options.dbHost}
        aliases: [store]
  client:
    image: "${context.ref}"
    stop_signal: SIGKILL
    networks: [default, back, edge]
networks:
  back:
    ipam:
      config: [{ subnet: ${context.prefix}.0/24 }]
  edge:
    external: true
    name: ${context.network}
`;
}

/** The addresses a name resolves to from inside the pod, as busybox's nslookup lists them (sorted); [] when it does not resolve. */
async function lookup(context: Context, project: string, pod: string, name: string): Promise<string[]> {
  // A replica's container is named after its service (web-2.web); any other pod's after itself.
  const container = pod.replace(/-\d+$/, '');
  const result = await inside(context.sandbox, project, `${pod}.${container}`, `nslookup -type=a ${name} 2>&1`);
  const answer = String(result.stdout).split(/^Name:/m).slice(1).join('\n');
  return [...answer.matchAll(/^Address:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((match) => match[1]!).sort();
}

/** The pod's address on each of its networks, from its attachment record. */
async function addressesOf(context: Context, project: string, pod: string): Promise<Record<string, string>> {
  const record = JSON.parse(await readFile(path.join(context.sandbox.run, project, 'pods', pod, 'network.json'), 'utf8')) as { networks: { network: string; ip: string }[] };
  return Object.fromEntries(record.networks.map((one) => [one.network, one.ip]));
}

/** glibc's `getent hosts NAME` in the pod's network namespace, reading the pod's own resolv.conf and hosts (in a mount namespace of its own). */
async function getent(context: Context, project: string, pod: string, name: string): Promise<string[]> {
  const dir = path.join(context.sandbox.run, project, 'pods', pod);
  const netns = JSON.parse(await readFile(path.join(dir, 'network.json'), 'utf8')).netns as string;
  const script = `mount --bind ${dir}/resolv.conf /etc/resolv.conf && mount --bind ${dir}/hosts /etc/hosts && timeout 5 getent hosts ${name}`;
  const result = await execa('nsenter', [`--net=${netns}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], { reject: false });
  return String(result.stdout).split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]!).sort();
}

const webAddresses = async (context: Context, replicas: number) =>
  (await Promise.all(Array.from({ length: replicas }, (_, index) => addressesOf(context, context.project, `web-${index + 1}`)))).map((one) => one.default!).sort();

dns.before(async (context) => {
  Object.assign(context, await createProjectSandbox('dns', 'names'));
  context.sandbox.env.CORRAL_DNS_UPSTREAM = '127.0.0.1';
  context.other = context.sandbox.projectName('peer');
  context.network = context.sandbox.projectName('edge');
  context.prefix = `10.89.${100 + ((process.pid + 53) % 100)}`;
  const image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  context.ref = `oci:${image.layout}:${image.tag}`;
  context.file = path.join(context.sandbox.work, 'compose.yaml');
  context.otherFile = path.join(context.sandbox.work, 'peer.yaml');
  await writeFile(context.file, composeFile(context, { replicas: 3, dbHost: 250 }));
  await writeFile(context.otherFile, `services:
  peer:
    image: "${context.ref}"
    stop_signal: SIGKILL
    networks: [edge]
networks:
  edge:
    external: true
    name: ${context.network}
`);
  const created = await corral(context.sandbox, ['network', 'create', context.network]);
  assert.is(created.exitCode, 0, `${created.stdout}\n${created.stderr}`);
});

dns.after(async (context) => {
  for (const project of [context.project, context.other]) await corral(context.sandbox, ['-p', project, 'down']);
  await corral(context.sandbox, ['network', 'rm', context.network]);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project, context.other], networks: ['back'], hostNetworks: [context.network] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `down leaves nothing, but left: ${leaks.join('; ')}`);
});

dns('a service of three replicas resolves to all three, by DNS and by getent', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const replicas = await webAddresses(context, 3);
  assert.equal(await eventually(async () => {
    const found = await lookup(context, context.project, 'client', 'web');
    return found.length === 3 ? found : undefined;
  }, 'client to resolve web to three addresses'), replicas, 'web resolves to every replica');
  assert.equal(await lookup(context, context.project, 'web-2', 'web'), replicas, 'a replica too finds all of them');
  assert.equal(await getent(context, context.project, 'client', 'web'), replicas, 'getent hosts web lists every replica');
  const db = `${context.prefix}.250`;
  assert.equal(await getent(context, context.project, 'client', 'store'), [db], 'getent hosts finds an alias');
  assert.equal(await lookup(context, context.project, 'client', `db.${context.project}`), [db], 'the project-qualified name resolves');
});

dns('a pod does not resolve the names of a network it is not on', async (context) => {
  assert.equal(await lookup(context, context.project, 'client', 'store'), [`${context.prefix}.250`], 'client, on back, finds db\'s alias there');
  assert.equal(await lookup(context, context.project, 'web-1', 'store'), [], 'web-1, on default only, does not');
  assert.equal(await lookup(context, context.project, 'web-1', 'db'), [], 'nor db itself');
});

dns('a pod recreated with a new address is found there by a container that kept running', async (context) => {
  const before = String((await inside(context.sandbox, context.project, 'client.client', 'cat /proc/1/stat | cut -d" " -f22')).stdout).trim();
  await writeFile(context.file, composeFile(context, { replicas: 3, dbHost: 240 }));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const after = String((await inside(context.sandbox, context.project, 'client.client', 'cat /proc/1/stat | cut -d" " -f22')).stdout).trim();
  assert.is(after, before, 'client kept running');
  assert.equal(await lookup(context, context.project, 'client', 'store'), [`${context.prefix}.240`], 'the alias resolves to the new address at once');
  assert.equal(await getent(context, context.project, 'client', 'db'), [`${context.prefix}.240`], 'and getent finds db there');
});

dns('a replica scaled away leaves the name at once', async (context) => {
  const gone = (await addressesOf(context, context.project, 'web-3')).default!;
  await writeFile(context.file, composeFile(context, { replicas: 2, dbHost: 240 }));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d', '--remove-orphans']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const left = await lookup(context, context.project, 'client', 'web');
  assert.is(left.length, 2, `two replicas left under web: ${left.join(', ')}`);
  assert.not.ok(left.includes(gone), `web-3's address ${gone} is gone from web`);
  assert.equal(await lookup(context, context.project, 'client', 'web-3'), [], 'and web-3 no longer resolves');
});

dns('a resolver that died and a file a crash left are repaired by the next up, which changes no pod', async (context) => {
  const dirs = { run: context.sandbox.run, state: context.sandbox.state };
  const { config } = resolverPaths(dirs);
  const killed = await runningResolver(dirs);
  assert.ok(killed, 'a resolver runs');
  process.kill(killed!, 'SIGKILL');
  await until(() => !existsSync(`/proc/${killed}`), `resolver ${killed} to end`);
  await writeFile(path.join(config, 'corral-gone.tmp'), '10.89');
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /up to date/, 'no container changed');
  const started = await runningResolver(dirs);
  assert.ok(started !== undefined && started !== killed, `a new resolver runs (${started})`);
  assert.not.ok(existsSync(path.join(config, 'corral-gone.tmp')), 'the leftover file is gone');
  assert.is((await lookup(context, context.project, 'client', 'web')).length, 2, 'and web resolves again to both replicas');
});

dns('two projects on a host network resolve each other; down of one drops its names and keeps the resolver for the other', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.otherFile, '-p', context.other, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const client = (await addressesOf(context, context.project, 'client')).edge!;
  const peer = (await addressesOf(context, context.other, 'peer')).edge!;
  assert.equal(await lookup(context, context.other, 'peer', `client.${context.project}`), [client], 'peer finds client by its project-qualified name');
  assert.equal(await lookup(context, context.project, 'client', `peer.${context.other}`), [peer], 'and client finds peer');
  assert.equal(await lookup(context, context.other, 'peer', 'web'), [], 'but not the replicas of a network peer is not on');
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `${down.stdout}\n${down.stderr}`);
  assert.equal(await lookup(context, context.other, 'peer', `client.${context.project}`), [], 'client\'s name went with its project');
  assert.equal(await lookup(context, context.other, 'peer', 'peer'), [peer], 'peer still resolves its own name');
  const { config } = resolverPaths({ run: context.sandbox.run, state: context.sandbox.state });
  const files = (await readdir(config)).filter((file) => file !== 'aardvark.pid');
  assert.is(files.length, 1, `only the host network's file is left: ${files.join(', ')}`);
  assert.not.match(await readFile(path.join(config, files[0]!), 'utf8'), new RegExp(`${context.project}\\.`), 'with no entry of the project that went down');
  const otherDown = await corral(context.sandbox, ['-p', context.other, 'down']);
  assert.is(otherDown.exitCode, 0, `${otherDown.stdout}\n${otherDown.stderr}`);
  assert.is(await runningResolver({ run: context.sandbox.run, state: context.sandbox.state }), undefined, 'no resolver runs once no pod is on a bridge');
});

dns.run();
