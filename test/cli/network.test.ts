import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, freePort, inside, listenOnHostAddress, repositoryRoot, type Sandbox } from '../helpers/sandbox.js';

// The project network with real traffic, only between the host and pods this suite made: pods reach
// each other by name over the project's bridge, the host reaches published TCP and UDP ports, two
// projects get separate subnets, a removed pod leaves the others' /etc/hosts, and a taken host port
// is refused before anything starts. (busybox wget -T crashes in Debian's busybox-static 1.35, so
// requests are bounded with timeout(1) instead.)

interface Context { sandbox: Sandbox; project: string; other: string; file: string; tcpPort: number; udpPort: number; udpEcho: string }
const network = suite<Context>('project network: names, published ports, two projects');

function projectFile(context: Context, withA = true): string {
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const a = `
  a:
    containers:
      web:
        rootfs: ${rootfs}
        command: ["sh", "-c", "mkdir -p /w && echo hello-from-a > /w/index.html && exec httpd -f -p 80 -h /w"]
        stop_signal: SIGKILL
        ports: ["127.0.0.1:${context.tcpPort}:80"]`;
  return `
pods:${withA ? a : ''}
  b:
    containers:
      client:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
  echo:
    ports: ["127.0.0.1:${context.udpPort}:7777/udp"]
    containers:
      udp:
        rootfs: ${rootfs}
        command: ["/opt/udp-echo", "7777"]
        stop_signal: SIGKILL
        volumes: ["${context.udpEcho}:/opt/udp-echo:ro"]
  hostnet:
    network: host
    containers:
      look:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
  isolated:
    network: none
    containers:
      look:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`;
}

function udpRoundTrip(port: number, message: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, 1000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(String(reply));
    });
    socket.send(message, port, '127.0.0.1');
  });
}

network.before(async (context) => {
  Object.assign(context, await createProjectSandbox('network', 'net'));
  context.other = context.sandbox.projectName('other');
  context.tcpPort = await freePort();
  context.udpPort = await freePort();
  context.udpEcho = path.join(context.sandbox.work, 'udp-echo');
  await execa('gcc', ['-static', '-O2', '-o', context.udpEcho, path.join(repositoryRoot, 'test/fixtures/udp-echo.c')]);
  await writeFile(context.file, projectFile(context));
});

network.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project, context.other));

network('pod b fetches from pod a by name over the project bridge', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const page = await eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'b.client', 'timeout 3 wget -q -O- http://a/index.html');
    return result.exitCode === 0 ? result.stdout : undefined;
  }, 'b to reach a by name');
  assert.is(page.trim(), 'hello-from-a');
  const qualified = await inside(context.sandbox, context.project, 'b.client', `timeout 3 wget -q -O- http://a.${context.project}/index.html`);
  assert.is(qualified.stdout.trim(), 'hello-from-a', 'and by <pod>.<project>');
});

network('the host fetches a published TCP port and gets answers from a published UDP port', async (context) => {
  const response = await eventually(async () => {
    const result = await fetch(`http://127.0.0.1:${context.tcpPort}/index.html`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return result?.ok ? result.text() : undefined;
  }, 'the published TCP port to answer');
  assert.is(response.trim(), 'hello-from-a');
  const echoed = await eventually(() => udpRoundTrip(context.udpPort, 'ping-udp'), 'the published UDP port to echo');
  assert.is(echoed, 'ping-udp');
});

network('outbound traffic from a pod reaches a listener on the host\'s own address', async (context) => {
  const listener = await listenOnHostAddress();
  try {
    const reply = await inside(context.sandbox, context.project, 'b.client', `timeout 3 nc ${listener.address} ${listener.port} </dev/null`);
    assert.is(reply.stdout.trim(), 'hello-from-host', `the pod got the host's answer: ${reply.stderr}`);
    assert.is(listener.seen.length, 1, 'one connection, from the pod');
  } finally {
    await listener.close();
  }
});

network('network: host sees the host\'s interfaces, network: none only loopback', async (context) => {
  const links = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort";
  const host = await inside(context.sandbox, context.project, 'hostnet.look', links);
  const hostLinks = String((await execa('sh', ['-c', links])).stdout);
  assert.ok(host.stdout.includes('eth0'), `the host's eth0 is there: ${host.stdout} ${host.stderr}`);
  assert.equal(host.stdout.trim().split('\n').filter((link) => !link.startsWith('veth')), hostLinks.trim().split('\n').filter((link) => !link.startsWith('veth')), 'the host\'s links');
  const none = await inside(context.sandbox, context.project, 'isolated.look', links);
  assert.equal(none.stdout.trim().split('\n'), ['lo']);
});

network('a second project gets its own subnet, and its pods do not see the first project\'s names', async (context) => {
  const otherFile = path.join(context.sandbox.work, 'other.yaml');
  await writeFile(otherFile, `
pods:
  solo:
    containers:
      box:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`);
  const up = await corral(context.sandbox, ['-f', otherFile, '-p', context.other, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
  const subnetOf = async (project: string) => (JSON.parse(await readFile(path.join(context.sandbox.run, project, 'network.json'), 'utf8')) as { subnet: { cidr: string } }).subnet.cidr;
  assert.is.not(await subnetOf(context.other), await subnetOf(context.project), 'separate subnets');
  const lookup = await inside(context.sandbox, context.other, 'solo.box', 'grep -c "\\ba\\b" /etc/hosts || true');
  assert.is(lookup.stdout.trim(), '0', 'pod a of the first project is not in its hosts file');
});

network('a taken host port is refused before anything starts', async (context) => {
  const blocker: Server = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    const file = path.join(context.sandbox.work, 'taken.yaml');
    const project = context.sandbox.projectName('taken');
    await writeFile(file, `
pods:
  web:
    ports: ["127.0.0.1:${port}:80"]
    containers:
      app:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}
        command: ["sleep", "60"]
`);
    const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
    assert.is(up.exitCode, 2);
    assert.match(up.stderr, `host port 127.0.0.1:${port}/tcp of pod web is already in use on this host`);
    const ps = JSON.parse((await corral(context.sandbox, ['-p', project, 'ps', '--format', 'json'])).stdout) as unknown[];
    assert.equal(ps, [], 'nothing was created');
    await corral(context.sandbox, ['-p', project, 'down']);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

network('a host port another project publishes is refused at its line, naming that project, before anything starts', async (context) => {
  // The first project's pod a publishes 127.0.0.1:tcpPort with a DNAT rule, which holds no socket: a bind would succeed.
  const file = path.join(context.sandbox.work, 'second.yaml');
  const project = context.sandbox.projectName('second');
  await writeFile(file, `pods:
  front:
    containers:
      app:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}
        command: ["sleep", "60"]
        ports:
          - "${context.tcpPort}:80"
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 1, `refused as invalid input: ${up.stderr}`);
  assert.match(up.stderr, `${file}:8:13: host port ${context.tcpPort}/tcp of pod front is already published by project ${context.project} (pod a)`, 'at the port\'s line in the compose file, naming the other project');
  assert.match(up.stderr, `corral -p ${context.project} down`, 'with how to free it');
  const ps = JSON.parse((await corral(context.sandbox, ['-p', project, 'ps', '--format', 'json'])).stdout) as unknown[];
  assert.equal(ps, [], 'nothing was created');
  const page = await fetch(`http://127.0.0.1:${context.tcpPort}/index.html`, { signal: AbortSignal.timeout(2000) });
  assert.is((await page.text()).trim(), 'hello-from-a', 'the first project still answers on its port');
  await corral(context.sandbox, ['-p', project, 'down']);
});

network('removing pod a keeps b reachable and takes a out of b\'s /etc/hosts', async (context) => {
  await writeFile(context.file, projectFile(context, false));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
  assert.match(up.stdout, /a\s+pod removed/);
  const hosts = await inside(context.sandbox, context.project, 'b.client', 'cat /etc/hosts');
  assert.not.match(hosts.stdout, /\ta a\./, 'a is gone from the hosts file');
  assert.match(hosts.stdout, /\techo echo\./, 'the others are still listed');
  const echoed = await eventually(() => udpRoundTrip(context.udpPort, 'still-there'), 'the echo pod to still answer');
  assert.is(echoed, 'still-there');
  const reach = await inside(context.sandbox, context.project, 'b.client', 'ping -c 1 -W 2 echo >/dev/null && echo reached');
  assert.is(reach.stdout.trim(), 'reached', 'b still reaches the other pods by name');
});

network('a pod whose attachment record is lost (a crash between CNI ADD and the record) leaves no iptables rule after down', async (context) => {
  const project = context.sandbox.projectName('lost');
  const file = path.join(context.sandbox.work, 'lost.yaml');
  await writeFile(file, `
pods:
  web:
    ports: ["127.0.0.1:${await freePort()}:80"]
    containers:
      app:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
  const record = path.join(context.sandbox.run, project, 'pods', 'web', 'network.json');
  const { ip } = JSON.parse(await readFile(record, 'utf8')) as { ip: string };
  const rulesOfThePod = async () => String((await execa('iptables-save')).stdout).split('\n').filter((rule) => rule.includes(`corral-${project}`) || rule.includes(` ${ip}/32 `) || rule.includes(` ${ip}:`));
  const running = await rulesOfThePod();
  assert.ok(running.some((rule) => rule.includes(`--to-destination ${ip}:80`)), `its port mapping while it runs: ${running.join('\n')}`);
  assert.ok(running.some((rule) => rule.includes('masquerade name:')), 'and its network\'s rules');
  await rm(record);
  const down = await corral(context.sandbox, ['-p', project, 'down']);
  assert.is(down.exitCode, 0, down.stderr);
  assert.equal(await rulesOfThePod(), [], 'down swept the rules that CNI DEL could no longer remove');
});

network.run();
