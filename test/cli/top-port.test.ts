import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { parseProcess } from '../../src/runtime/processes.js';
import { statusText } from '../../src/cli/ls.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, freePort, type ProjectSandbox } from '../helpers/sandbox.js';

// `top` lists a container's processes from its cgroup (a paused one too), `port` prints where a
// container port is published, including a free port chosen at attach time, and that address serves.

interface Context extends ProjectSandbox, SetupState { fixedPort: number }

const parsing = suite('top: a process read from /proc');

parsing('stat, status and cmdline make one row; a name with spaces and parentheses is kept whole', () => {
  const stat = '4242 (my (odd) name) S 4241 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 10';
  const row = parseProcess(4242, stat, 'Name:\tx\nUid:\t1000\t1000\t1000\t1000\n', 'sleep\x003600\x00');
  assert.equal(row, { pid: 4242, ppid: 4241, uid: 1000, state: 'S', cpuSeconds: 3, command: 'sleep 3600' });
  assert.is(parseProcess(7, stat, 'Uid:\t0\t0\t0\t0\n', '')?.command, '[my (odd) name]', 'no command line: its name in brackets');
  assert.is(parseProcess(7, 'garbage', '', ''), undefined);
});

parsing('ls: compose\'s status text, states in a fixed order, down without containers', () => {
  assert.is(statusText({ exited: 1, running: 2 }), 'running(2), exited(1)');
  assert.is(statusText({ created: 1, paused: 3 }), 'paused(3), created(1)');
  assert.is(statusText({}), 'down');
});

parsing.run();

const listed = suite<Context>('top and port of a running project');

listed.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('top'));
  context.fixedPort = await freePort();
  await writeFile(context.file, `
pods:
  web:
    ports: ["127.0.0.1:${context.fixedPort}:80", "127.0.0.1::8080"]
    containers:
      server:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "mkdir -p /w && echo top-port > /w/index.html && httpd -p 8080 -h /w && exec httpd -f -p 80 -h /w"]
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

listed.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

function fetchPage(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(`http://${address}/`, { timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${address} within 5 s`)));
    request.on('error', reject);
  });
}

listed('top lists both httpd processes of the container, running or paused', async (context) => {
  assertSetUp(context);
  interface Listed { pod: string; container: string; processes: { pid: number; ppid: number; command: string }[] }
  const running = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.project, 'top', '--format', 'json']);
    assert.is(result.exitCode, 0, `top: ${result.stderr}`);
    const [entry] = JSON.parse(result.stdout) as Listed[];
    return entry && entry.processes.filter((process) => process.command.startsWith('httpd')).length === 2 ? entry : undefined;
  }, 'two httpd processes in web/server');
  assert.equal([running.pod, running.container], ['web', 'server']);
  assert.ok(running.processes.some((process) => process.command === 'httpd -f -p 80 -h /w'), JSON.stringify(running));
  assert.is((await corral(context.sandbox, ['-p', context.project, 'pause'])).exitCode, 0);
  const table = await corral(context.sandbox, ['-p', context.project, 'top', 'web']);
  assert.is((await corral(context.sandbox, ['-p', context.project, 'unpause'])).exitCode, 0);
  assert.is(table.exitCode, 0, `top of a paused container: ${table.stderr}`);
  assert.match(table.stdout, /^web\/server\nUID\s+PID\s+PPID\s+STATE\s+TIME\s+CMD\n/);
  assert.match(table.stdout, /httpd -f -p 80 -h \/w/);
});

listed('port prints the published address, a fixed one and one chosen at attach, and both serve the page', async (context) => {
  assertSetUp(context);
  const fixed = await corral(context.sandbox, ['-p', context.project, 'port', 'web', '80']);
  assert.is(fixed.exitCode, 0, `port web 80: ${fixed.stderr}`);
  assert.is(fixed.stdout.trim(), `127.0.0.1:${context.fixedPort}`);
  const chosen = await corral(context.sandbox, ['-p', context.project, 'port', 'web', '8080/tcp']);
  assert.is(chosen.exitCode, 0, `port web 8080/tcp: ${chosen.stderr}`);
  assert.match(chosen.stdout.trim(), /^127\.0\.0\.1:[1-9]\d*$/);
  for (const address of [fixed.stdout.trim(), chosen.stdout.trim()]) {
    assert.is((await eventually(async () => fetchPage(address).catch(() => undefined), `the page at ${address}`)).trim(), 'top-port');
  }
  const unpublished = await corral(context.sandbox, ['-p', context.project, 'port', 'web', '443']);
  assert.is(unpublished.exitCode, 1, 'an unpublished port is a usage error');
  assert.match(unpublished.stderr, /443\/tcp of pod web is not published/);
});

listed('ls lists the project with its containers\' states and the file it was applied from', async (context) => {
  assertSetUp(context);
  const result = await corral(context.sandbox, ['ls', '--format', 'json']);
  assert.is(result.exitCode, 0, `ls: ${result.stderr}`);
  const rows = JSON.parse(result.stdout) as { name: string; containers: Record<string, number>; status: string; configFiles: string[] }[];
  assert.equal(rows.map((row) => [row.name, row.status]), [[context.project, 'running(1)']], result.stdout);
  assert.ok(rows[0]!.configFiles.includes(context.file), `its project file: ${result.stdout}`);
  const table = await corral(context.sandbox, ['ls']);
  assert.match(table.stdout, new RegExp(`^${context.project}\\s+running\\(1\\)\\s+${context.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
});

listed.run();
