import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type ProjectSandbox } from '../helpers/sandbox.js';

// `create`, `rm` and `wait`, as docker compose's: create makes the containers and leaves them
// `created` (no supervisor starts them) until `start`; rm refuses a running one unless -s, and takes
// the pod's sandbox when its last container goes; wait prints the code of a container that exits 7
// (with --down-project, of the first to exit, and takes the project down).

interface Row { pod: string; container: string; state: string; exitCode: number | null }
type Context = ProjectSandbox & SetupState;

const lifecycle = suite<Context>('create, rm and wait');

function projectFile(rootfs: string): string {
  return `
pods:
  app:
    containers:
      app:
        rootfs: ${rootfs}
        command: ["sleep", "1000"]
  job:
    restart: "no"
    containers:
      job:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep 1; exit 7"]
`;
}

lifecycle.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('create-rm'));
  await writeFile(context.file, projectFile(context.rootfs));
}));

lifecycle.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const cli = (context: Context, args: readonly string[]) => corral(context.sandbox, ['-f', context.file, '-p', context.project, ...args]);

async function states(context: Context): Promise<Record<string, string>> {
  const result = await cli(context, ['ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps: ${result.stderr}`);
  return Object.fromEntries((JSON.parse(result.stdout) as Row[]).map((row) => [`${row.pod}/${row.container}`, row.state]));
}

lifecycle('create leaves the containers created, even with a supervisor about; start starts one', async (context) => {
  assertSetUp(context);
  const create = await cli(context, ['create']);
  assert.is(create.exitCode, 0, `create: ${create.stderr}`);
  assert.match(create.stdout, /app\/app\s+created/);
  assert.equal(await states(context), { 'app/app': 'created', 'job/job': 'created' }, 'ps shows both created');
  // ps starts a supervisor for an applied project; two of its polls later nothing has started.
  await new Promise((resolve) => setTimeout(resolve, 4500));
  assert.equal(await states(context), { 'app/app': 'created', 'job/job': 'created' }, 'still created');
  const start = await cli(context, ['start', 'app']);
  assert.is(start.exitCode, 0, `start: ${start.stderr}`);
  assert.is((await states(context))['app/app'], 'running', 'start runs it');
});

lifecycle('rm refuses a running container and says -s; rm -s stops and removes it with its pod', async (context) => {
  assertSetUp(context);
  const refused = await cli(context, ['rm', 'app']);
  assert.is(refused.exitCode, 1, 'refused as a usage error');
  assert.match(refused.stderr, /cannot remove app\/app: it is running.*-s/);
  assert.is((await states(context))['app/app'], 'running', 'still running');
  const removed = await cli(context, ['rm', '-s', '-f', 'app']);
  assert.is(removed.exitCode, 0, `rm -s: ${removed.stderr}`);
  assert.match(removed.stdout, /app\/app\s+removed/);
  assert.equal(Object.keys(await states(context)), ['job/job'], 'app is gone');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project, 'pods', 'app')), 'its pod sandbox went with its last container');
});

lifecycle('wait prints the exit code of a container that exits 7 and exits with it; rm then removes it', async (context) => {
  assertSetUp(context);
  const start = await cli(context, ['start', 'job']);
  assert.is(start.exitCode, 0, `start: ${start.stderr}`);
  const wait = await cli(context, ['wait', 'job']);
  assert.is(wait.stdout, '7', 'one line, the exit code (the helper strips the final newline)');
  assert.is(wait.exitCode, 7, 'the exit code of the first container');
  const rm = await cli(context, ['rm']);
  assert.is(rm.exitCode, 0, `rm: ${rm.stderr}`);
  assert.match(rm.stdout, /job\/job\s+removed/, 'rm with no names removes the stopped ones');
  assert.equal(await states(context), {}, 'nothing left');
});

lifecycle('wait --down-project: the first to exit gives the code, and the project goes', async (context) => {
  assertSetUp(context);
  const up = await cli(context, ['up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
  const wait = await cli(context, ['wait', '--down-project', 'app', 'job']);
  assert.is(wait.stdout, '7', 'the code of job, which exits first');
  assert.is(wait.exitCode, 7);
  assert.equal(await states(context), {}, 'the project is down');
});

lifecycle('up --no-start creates and starts nothing, and recreates what changed; with --wait it is refused before anything changes', async (context) => {
  assertSetUp(context);
  const refused = await cli(context, ['up', '--no-start', '--wait']);
  assert.is(refused.exitCode, 1, refused.stdout);
  assert.match(refused.stderr, /--no-start and --wait do not go together/);
  assert.equal(await states(context), {}, 'nothing made');
  const created = await cli(context, ['up', '--no-start']);
  assert.is(created.exitCode, 0, `up --no-start: ${created.stderr}`);
  assert.equal(await states(context), { 'app/app': 'created', 'job/job': 'created' });
  await writeFile(context.file, projectFile(context.rootfs).replace('"1000"', '"1001"'));
  const changed = await cli(context, ['up', '--no-start']);
  assert.is(changed.exitCode, 0, `up --no-start after a change: ${changed.stderr}`);
  assert.match(changed.stdout, /app\/app\s+created/, 'the changed container is made again');
  assert.not.match(changed.stdout, /job\/job/, 'the other is left as it is');
  assert.equal(await states(context), { 'app/app': 'created', 'job/job': 'created' }, 'still nothing started');
  const up = await cli(context, ['up', '-d', 'app']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
  assert.is((await states(context))['app/app'], 'running');
});

lifecycle.run();
