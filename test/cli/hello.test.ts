import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, repositoryRoot, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';

// The walking skeleton end to end with the hello example: a real pod of two busybox containers.

const hello = suite<{ sandbox: Sandbox; project: string }>('hello pod, end to end');
const example = path.join(repositoryRoot, 'examples/hello/corral.yaml');

interface Row { pod: string; container: string; state: string; pid: number | null; exitCode: number | null }

async function psRows(context: { sandbox: Sandbox; project: string }): Promise<Row[]> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps fails: ${result.stderr}`);
  return JSON.parse(result.stdout) as Row[];
}

async function execIn(context: { sandbox: Sandbox; project: string }, container: string, script: string) {
  const runcRoot = path.join(context.sandbox.run, context.project, 'runc');
  return execa('runc', ['--root', runcRoot, 'exec', `${context.project}.web.${container}`, 'sh', '-c', script], { reject: false });
}

hello.before(async (context) => {
  context.sandbox = await createSandbox('hello');
  context.project = context.sandbox.projectName('hello');
});

hello.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

hello('up -d starts both containers of the pod', async (context) => {
  const result = await corral(context.sandbox, ['-f', example, '-p', context.project, 'up', '-d']);
  assert.is(result.exitCode, 0, `up fails: ${result.stderr}`);
  assert.match(result.stdout, 'web/server', 'progress names the server');
  assert.match(result.stdout, 'web/client', 'progress names the client');
});

hello('ps reports both running with real pids', async (context) => {
  const rows = await psRows(context);
  assert.equal(rows.map((row) => `${row.pod}/${row.container}`), ['web/client', 'web/server'], 'both containers are listed');
  for (const row of rows) {
    assert.is(row.state, 'running', `${row.container} is running`);
    assert.ok(row.pid && existsSync(`/proc/${row.pid}`), `${row.container} has a live pid`);
  }
});

hello('the client fetches the server page over the shared network namespace', async (context) => {
  const logs = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.project, 'logs', 'web/client']);
    return result.stdout.includes('hello from web') ? result.stdout : undefined;
  }, 'the client to print the server page');
  assert.match(logs, 'served by httpd', 'the page came from httpd in the other container');
});

hello('a file written by one container is read by the other through the named volume', async (context) => {
  const write = await execIn(context, 'server', 'echo shared-through-volume > /srv/note.txt');
  assert.is(write.exitCode, 0, `write fails: ${write.stderr}`);
  const read = await execIn(context, 'client', 'cat /site/note.txt');
  assert.is(read.stdout.trim(), 'shared-through-volume', 'the client reads what the server wrote');
  const readOnly = await execIn(context, 'client', 'echo nope > /site/other.txt');
  assert.is.not(readOnly.exitCode, 0, 'the client mounts the volume read-only');
});

hello('both containers see the same /dev/shm, a tmpfs of the pod size', async (context) => {
  await execIn(context, 'client', 'echo from-client > /dev/shm/marker');
  const seen = await execIn(context, 'server', 'cat /dev/shm/marker');
  assert.is(seen.stdout.trim(), 'from-client', 'the server sees the client\'s shm file');
  const mounts = await execIn(context, 'server', 'grep " /dev/shm " /proc/mounts');
  assert.match(mounts.stdout, /tmpfs \/dev\/shm tmpfs .*size=16384k/, 'the pod shm is a 16m tmpfs');
});

hello('the pod has its own hostname and the containers run with the users asked for', async (context) => {
  const hostname = await execIn(context, 'client', 'hostname; id -u; id -g');
  assert.equal(hostname.stdout.trim().split('\n'), ['web', '1000', '1000'], 'client: hostname web, user app (1000:1000)');
  const server = await execIn(context, 'server', 'id -u; grep -c "" /proc/self/status >/dev/null; grep NoNewPrivs /proc/self/status');
  assert.match(server.stdout, /^0\n/, 'server runs as root by default');
  assert.match(server.stdout, /NoNewPrivs:\s+1/, 'no_new_privileges is on by default');
});

hello('up again on the unchanged file touches nothing', async (context) => {
  const before = await psRows(context);
  const result = await corral(context.sandbox, ['-f', example, '-p', context.project, 'up', '-d']);
  assert.is(result.exitCode, 0, `second up fails: ${result.stderr}`);
  assert.match(result.stdout, '2 containers up to date', 'up says nothing changed');
  const after = await psRows(context);
  assert.equal(after.map((row) => row.pid), before.map((row) => row.pid), 'the same processes still run');
});

hello('down stops and removes everything of the project', async (context) => {
  const pids = (await psRows(context)).map((row) => row.pid!);
  const result = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(result.exitCode, 0, `down fails: ${result.stderr}`);
  for (const pid of pids) assert.not.ok(existsSync(`/proc/${pid}`), `process ${pid} is gone`);
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project)), 'the project run dir is gone');
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  assert.equal(leaks, [], 'down leaves no mount, cgroup, conmon or runc state');
});

hello.run();
