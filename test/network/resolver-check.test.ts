import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { findLeaks } from '../helpers/leaks.js';
import { corral, createProjectSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { resolverPaths } from '../../src/state/paths.js';
import { runningResolver } from '../../src/network/resolver.js';
import { cniNetworkName } from '../../src/network/project-network.js';
import { confirmResolverAnswers } from '../../src/network/resolver-check.js';

// The resolver confirmed, with real pods: `up` asks aardvark-dns for the check name of each network it
// wrote and fails, naming the network and the name, when a reload is not served (the resolver stopped
// with SIGSTOP); the next `up` repairs it. And an internal network's pod has its project's names but no
// unknown name forwarded: the upstream is a UDP listener of this test on a loopback address, which
// counts the queries it receives (it answers none), so no query leaves the host.

interface Context { sandbox: Sandbox; project: string; file: string; ref: string; upstream: string; listener: Socket; received: string[] }
const check = suite<Context>('the resolver confirmed after a reload; internal networks not forwarded');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

function composeFile(context: Context, replicas: number): string {
  return `services:
  web:
    image: "${context.ref}"
    scale: ${replicas}
    stop_signal: SIGKILL
    networks: [default, vault]
  inner:
    image: "${context.ref}"
    stop_signal: SIGKILL
    networks: [vault]
networks:
  vault:
    internal: true
`;
}

/** The name a DNS query asks for (the question's labels after the 12-byte header). */
function questionName(packet: Buffer): string {
  const labels: string[] = [];
  for (let offset = 12; offset < packet.length && packet[offset]! > 0; offset += packet[offset]! + 1) {
    labels.push(packet.subarray(offset + 1, offset + 1 + packet[offset]!).toString('latin1'));
  }
  return labels.join('.').toLowerCase();
}

/** The network's gateway and check name, as the file written for aardvark-dns says. */
async function checkEntry(context: Context, network: string): Promise<{ gateway: string; name: string; file: string }> {
  const { config } = resolverPaths({ run: context.sandbox.run, state: context.sandbox.state });
  const file = path.join(config, cniNetworkName(context.project, network));
  const [, line] = (await readFile(file, 'utf8')).split('\n');
  const [, gateway, , name] = line!.split(' ');
  return { gateway: gateway!, name: name!, file };
}

const up = (context: Context) => corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d', '--remove-orphans']);

check.before(async (context) => {
  Object.assign(context, await createProjectSandbox('resolver-check', 'check'));
  context.upstream = `127.${60 + (process.pid % 100)}.0.53`;
  context.sandbox.env.CORRAL_DNS_UPSTREAM = context.upstream;
  context.received = [];
  context.listener = createSocket('udp4');
  context.listener.on('message', (packet) => context.received.push(questionName(packet)));
  await new Promise<void>((resolve, reject) => {
    context.listener.once('error', reject);
    context.listener.bind(53, context.upstream, resolve);
  });
  const image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  context.ref = `oci:${image.layout}:${image.tag}`;
  context.file = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(context.file, composeFile(context, 1));
});

check.after(async (context) => {
  context.listener.close();
  await corral(context.sandbox, ['-p', context.project, 'down']);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project], networks: ['default', 'vault'] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `down leaves nothing, but left: ${leaks.join('; ')}`);
});

check('up confirms each network: the host gets the check name from the gateway, and only the current one', async (context) => {
  const started = await up(context);
  assert.is(started.exitCode, 0, `${started.stdout}\n${started.stderr}`);
  const before = await checkEntry(context, 'default');
  const took = await confirmResolverAnswers({ network: 'default', gateway: before.gateway, name: before.name });
  assert.ok(took < 500, `it answers at once (${took} ms)`);
  await writeFile(context.file, composeFile(context, 2));
  const scaled = await up(context);
  assert.is(scaled.exitCode, 0, `${scaled.stdout}\n${scaled.stderr}`);
  const after = await checkEntry(context, 'default');
  assert.is.not(after.name, before.name, 'a pod more: another check name');
  await confirmResolverAnswers({ network: 'default', gateway: after.gateway, name: after.name });
  const stale = await confirmResolverAnswers({ network: 'default', gateway: before.gateway, name: before.name, timeoutMs: 300 }).then(() => 'answered', (error: Error) => error.message);
  assert.match(stale, new RegExp(`network default: asked ${before.gateway.replace(/\./g, '\\.')}:53 for ${before.name} for 300 ms`), 'the old name is gone, and the error says where and what');
  assert.match(stale, /run corral up again/, 'and how to repair');
});

check('a reload not served fails up, naming the network and the name; the next up repairs it', async (context) => {
  const pid = await runningResolver({ run: context.sandbox.run, state: context.sandbox.state });
  assert.ok(pid, 'a resolver runs');
  process.kill(pid!, 'SIGSTOP');
  let failed;
  try {
    await writeFile(context.file, composeFile(context, 1));
    failed = await up(context);
  } finally {
    process.kill(pid!, 'SIGCONT');
  }
  assert.is.not(failed.exitCode, 0, `up fails: ${failed.stdout}\n${failed.stderr}`);
  assert.match(failed.stderr, /aardvark-dns does not serve the new names of network corral-[\w.-]+: asked [\d.]+:53 for corral-check-[0-9a-f]{12}/, `the error names the network and the name: ${failed.stderr}`);
  assert.match(failed.stderr, /run corral up again/, 'and the way out');
  const again = await up(context);
  assert.is(again.exitCode, 0, `the next up succeeds: ${again.stdout}\n${again.stderr}`);
  const entry = await checkEntry(context, 'default');
  await confirmResolverAnswers({ network: 'default', gateway: entry.gateway, name: entry.name });
  assert.is(await runningResolver({ run: context.sandbox.run, state: context.sandbox.state }), pid, 'the same resolver, reloaded');
});

check('a pod on an internal network alone resolves its project\'s names, and no other name leaves through the resolver', async (context) => {
  const lookup = (pod: string, name: string) => inside(context.sandbox, context.project, `${pod}.${pod.replace(/-\d+$/, '')}`, `timeout 3 nslookup -type=a ${name} 2>&1`);
  const web = await eventually(async () => {
    const answer = String((await lookup('inner', 'web')).stdout);
    return /Name:/.test(answer) ? answer : undefined;
  }, 'inner to resolve web');
  assert.match(web, /Address:\s*\d+\.\d+\.\d+\.\d+/, `inner resolves web on the internal network: ${web}`);
  const outward = `outward-${process.pid}.corral.test`;
  const inward = `inward-${process.pid}.corral.test`;
  const asked = await lookup('web', outward);
  await lookup('inner', inward);
  await eventually(async () => (context.received.includes(outward) ? true : undefined), `the upstream to receive ${outward} from web (on an outward network too); it received ${context.received.join(', ')}; nslookup said ${asked.stdout}${asked.stderr} (exit ${asked.exitCode})`, 5_000);
  assert.not.ok(context.received.includes(inward), `the upstream received nothing for inner (only internal): ${context.received.join(', ')}`);
});

check.run();
