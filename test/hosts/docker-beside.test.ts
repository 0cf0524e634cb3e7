import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createSandbox, eventually, freePort, hostAddress, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { assertSetUp, visibleSetup, type SetupState } from '../helpers/visible-setup.js';
import { dockerBeside, dockerState, type DockerDaemon, type DockerState } from './docker-daemon.js';
import { addNeighbour, type Neighbour } from './neighbour.js';

// Corral on a host where Docker (Debian's docker.io) runs too: dockerd loads br_netfilter, puts its
// chains first in FORWARD and, when it is the one that turns forwarding on, sets the FORWARD policy
// to DROP. The suite starts a dockerd of its own (or uses the host's, when its service runs), sets
// the policy to DROP as Docker does, and runs two projects of two pods each: pods reach each other by
// name; the host reaches published ports on 127.0.0.1 and on its own address, and so does another
// machine (a namespace of the suite's own, whose packets cross FORWARD as a remote client's do);
// pods reach a listener on the host's own address. `down` leaves Docker's chains, rules and docker0
// exactly as they were, and nothing of Corral's. Traffic goes only to loopback, the host's own
// address and the suite's pods. In `after`, also when a test failed, the dockerd the suite started is
// stopped and what it leaves on the host (docker0, its chains) removed, and the policy put back.

interface ProjectUnderTest {
  readonly name: string;
  readonly file: string;
  /** Published on all of the host's addresses. */
  readonly port: number;
  /** What its web pod serves. */
  readonly page: string;
}

interface Context extends SetupState {
  sandbox: Sandbox;
  docker?: DockerDaemon;
  /** Docker's state after it started, before any project was up. */
  dockerBefore: DockerState;
  address: string;
  /** Another machine to the firewall: a namespace of the suite's own whose only route is to the host. */
  neighbour?: Neighbour;
  a: ProjectUnderTest;
  b: ProjectUnderTest;
}

const beside = suite<Context>('Docker beside Corral: FORWARD policy DROP, br_netfilter, Docker\'s chains first');

function projectFile(rootfs: string, project: ProjectUnderTest): string {
  return `
pods:
  web:
    ports: ["${project.port}:80"]
    containers:
      httpd:
        rootfs: ${rootfs}
        command: ["sh", "-c", "mkdir -p /w && echo ${project.page} > /w/index.html && exec httpd -f -p 80 -h /w"]
        stop_signal: SIGKILL
  client:
    containers:
      shell:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`;
}

async function projectUnderTest(sandbox: Sandbox, label: string): Promise<ProjectUnderTest> {
  const project = { name: sandbox.projectName(label), file: path.join(sandbox.work, `${label}.yaml`), port: await freePort(), page: `hello-from-${label}` };
  await writeFile(project.file, projectFile(sandbox.env.CORRAL_ROOTFS!, project));
  return project;
}

beside.before(visibleSetup(async (context) => {
  context.sandbox = await createSandbox('docker');
  context.a = await projectUnderTest(context.sandbox, 'a');
  context.b = await projectUnderTest(context.sandbox, 'b');
  context.address = await hostAddress();
  context.neighbour = await addNeighbour(context.address);
  context.docker = await dockerBeside();
  process.stderr.write(`\ndocker-beside: ${context.docker.own ? 'a dockerd of the suite\'s own' : 'the host\'s running Docker'} on ${context.docker.socket}\n`);
  context.dockerBefore = await dockerState();
}));

beside.after(async (context) => {
  try {
    for (const project of [context.a, context.b]) if (project) await corral(context.sandbox, ['-p', project.name, 'down']);
    await context.sandbox?.dispose();
  } finally {
    await context.neighbour?.remove();
    await context.docker?.stopAndClean();
  }
});

/** A pod of the project connects to a listener on the host's own address and gets its line. */
async function podReachesHostListener(context: Context, project: ProjectUnderTest): Promise<void> {
  const seen: string[] = [];
  const listener: Server = createServer((socket) => {
    seen.push(String(socket.remoteAddress));
    socket.end(`hello-from-host-to-${project.name}\n`);
  });
  await new Promise<void>((resolve) => listener.listen(0, context.address, resolve));
  const { port } = listener.address() as { port: number };
  try {
    const reply = await inside(context.sandbox, project.name, 'client.shell', `timeout 3 nc ${context.address} ${port} </dev/null`);
    assert.is(reply.stdout.trim(), `hello-from-host-to-${project.name}`, `a pod of ${project.name} gets the answer of a listener on the host's ${context.address}: ${reply.stderr}`);
    assert.is(seen.length, 1, 'one connection, from the pod');
  } finally {
    await new Promise((resolve) => listener.close(resolve));
  }
}

async function hostFetches(url: string): Promise<string> {
  return eventually(async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return response?.ok ? response.text() : undefined;
  }, `${url} to answer`);
}

/** Everything a project's pods and the host do with each other, under Docker's rules. */
async function assertProjectWorks(context: Context, project: ProjectUnderTest): Promise<void> {
  const page = await eventually(async () => {
    const result = await inside(context.sandbox, project.name, 'client.shell', 'timeout 3 wget -q -O- http://web/index.html');
    return result.exitCode === 0 ? result.stdout : undefined;
  }, `the client pod of ${project.name} to fetch from its web pod by name`);
  assert.is(page.trim(), project.page, 'pod to pod by name over the project bridge');
  assert.is((await hostFetches(`http://127.0.0.1:${project.port}/index.html`)).trim(), project.page, 'the host on 127.0.0.1');
  assert.is((await hostFetches(`http://${context.address}:${project.port}/index.html`)).trim(), project.page, `the host on its own ${context.address}`);
  const fromNeighbour = await eventually(() => context.neighbour!.get(`http://${context.address}:${project.port}/index.html`), `the published port of ${project.name} to answer a neighbour`);
  assert.is(fromNeighbour.trim(), project.page, `another machine (${context.neighbour!.address}) on the host's ${context.address}: forwarded to the pod`);
  await podReachesHostListener(context, project);
}

async function up(context: Context, project: ProjectUnderTest): Promise<void> {
  const result = await corral(context.sandbox, ['-f', project.file, '-p', project.name, 'up', '-d']);
  assert.is(result.exitCode, 0, `up of ${project.name} fails: ${result.stdout}\n${result.stderr}`);
}

beside('dockerd runs with docker0, its chains first in FORWARD, and the FORWARD policy DROP', async (context) => {
  assertSetUp(context);
  const state = context.dockerBefore;
  assert.is(state.forwardPolicy, '-P FORWARD DROP');
  assert.match(state.link, /docker0:/, 'docker0 exists');
  assert.ok(state.filter.includes('-A FORWARD -j DOCKER-USER'), `Docker jumps to DOCKER-USER from FORWARD: ${state.filter.join('\n')}`);
  assert.ok(state.nat.some((rule) => rule.startsWith('-A POSTROUTING') && rule.includes('docker0')), `Docker masquerades its subnet: ${state.nat.join('\n')}`);
});

beside('project a: pod to pod by name, published port on 127.0.0.1, the host\'s address and from another machine, pod to the host', async (context) => {
  assertSetUp(context);
  await up(context, context.a);
  await assertProjectWorks(context, context.a);
});

beside('project b up at the same time works the same way, and a still does', async (context) => {
  assertSetUp(context);
  await up(context, context.b);
  await assertProjectWorks(context, context.b);
  await assertProjectWorks(context, context.a);
});

beside('down of both: Docker\'s chains, rules, policy and docker0 as they were, nothing of Corral\'s left', async (context) => {
  assertSetUp(context);
  const downB = await corral(context.sandbox, ['-p', context.b.name, 'down']);
  assert.is(downB.exitCode, 0, downB.stderr);
  await assertProjectWorks(context, context.a);
  const downA = await corral(context.sandbox, ['-p', context.a.name, 'down']);
  assert.is(downA.exitCode, 0, downA.stderr);
  const after = await dockerState();
  assert.equal(after.filter, context.dockerBefore.filter, 'Docker\'s filter chains and rules');
  assert.equal(after.nat, context.dockerBefore.nat, 'Docker\'s nat chains and rules');
  assert.is(after.forwardPolicy, context.dockerBefore.forwardPolicy, 'the FORWARD policy');
  assert.is(after.link, context.dockerBefore.link, 'docker0');
  assert.is(after.addresses, context.dockerBefore.addresses, 'docker0\'s addresses');
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.a.name, context.b.name] });
  assert.equal(leaks, [], `down leaves nothing behind, but left: ${leaks.join('; ')}`);
});

beside.run();
