import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findLeaks } from '../helpers/leaks.js';
import { openRuntime } from '../../src/runtime/context.js';
import { followProjectLogs } from '../../src/runtime/follow-logs.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// `corral run`, as a user of docker compose's checks it: a one-off container from a pod's definition,
// in a pod of its own, with what it depends on started first; it exits with the command's code, sees
// the definition's environment under its -e, and with --rm leaves nothing (runc state, root, bundle,
// pod sandbox, cgroup, conmon, network attachment). -d leaves it running and names it; the supervisor
// never restarts it, `up` leaves it, `down` removes it.

interface Row { pod: string; container: string; state: string; exitCode: number | null; restarts: number }
type Context = ProjectSandbox & SetupState;

const running = suite<Context>('corral run');

function projectFile(rootfs: string): string {
  return `
pods:
  db:
    containers:
      db:
        rootfs: ${rootfs}
        command: ["sleep", "1000"]
  web:
    restart: always
    containers:
      web:
        rootfs: ${rootfs}
        command: ["sleep", "1000"]
        env: { GREETING: hello, OTHER: one }
        depends_on: [db]
`;
}

running.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('run'));
  await writeFile(context.file, projectFile(context.rootfs));
}));

running.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const cli = (context: Context, args: readonly string[]) => corral(context.sandbox, ['-f', context.file, '-p', context.project, ...args]);

async function rows(context: Context): Promise<Row[]> {
  const result = await cli(context, ['ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps: ${result.stderr}`);
  return JSON.parse(result.stdout) as Row[];
}

/** Names of one-off pods (of the pod web): the project's name has `-run-` in it too. */
const ONE_OFF = 'web-run-';

/** What a one-off pod could leave: its runtime and state dirs, runc state, cgroup, conmon, leaks under the suite's dirs. */
async function leftOfOneOffs(context: Context): Promise<string[]> {
  const run = path.join(context.sandbox.run, context.project);
  const left: string[] = [];
  for (const dir of [path.join(run, 'pods'), path.join(run, 'containers'), path.join(run, 'runc'), path.join(context.sandbox.state, 'projects', context.project, 'containers')]) {
    left.push(...(await readdir(dir).catch(() => [] as string[])).filter((name) => name.includes(ONE_OFF)).map((name) => `${dir}/${name}`));
  }
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids']) {
    left.push(...(await readdir(path.join(root, 'corral', context.project)).catch(() => [] as string[])).filter((name) => name.includes(ONE_OFF)).map((name) => `cgroup ${root}/${name}`));
  }
  // The project's own network and db stay; anything of a one-off shows with its pod's name.
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  left.push(...leaks.filter((line) => line.includes(ONE_OFF)));
  return left;
}

running('run --rm SERVICE sh -c "exit 3": db is started first, it exits 3, and nothing of it is left', async (context) => {
  assertSetUp(context);
  const result = await cli(context, ['run', '--rm', 'web', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.is(result.exitCode, 3, `the command's exit code: ${result.stderr}`);
  assert.match(result.stdout, /^out$/m, 'its output is streamed on stdout');
  assert.match(result.stderr, /^err$/m, 'its stderr on stderr');
  const now = await rows(context);
  assert.equal(now.map((row) => `${row.pod}/${row.container} ${row.state}`), ['db/db running'], 'db was started as a dependency; no one-off is left');
  assert.equal(await leftOfOneOffs(context), [], 'run --rm leaves nothing');
});

running('run sees the definition\'s environment, and -e over it; -u and -w apply', async (context) => {
  assertSetUp(context);
  const result = await cli(context, ['run', '--rm', '--no-deps', '-e', 'OTHER=two', '-u', '1000', '-w', '/tmp', 'web', 'sh', '-c', 'echo "$GREETING $OTHER $(id -u) $(pwd)"']);
  assert.is(result.exitCode, 0, `run: ${result.stderr}`);
  assert.is(result.stdout.trim(), 'hello two 1000 /tmp', 'env of the definition, -e over it, the user and working dir given');
  assert.equal(await leftOfOneOffs(context), [], 'nothing left');
});

running('run -d prints the pod\'s name; ps shows it; the supervisor does not restart it; up leaves it; wait gives its code', async (context) => {
  assertSetUp(context);
  const up = await cli(context, ['up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
  const detached = await cli(context, ['run', '-d', 'web', 'sh', '-c', 'sleep 2; exit 5']);
  assert.is(detached.exitCode, 0, `run -d: ${detached.stderr}`);
  const name = detached.stdout.trim();
  assert.match(name, /^web-run-[0-9a-f]{12}$/, 'named as compose names a one-off: <service>-run-<12 hex>');
  const row = (await rows(context)).find((candidate) => candidate.pod === name);
  assert.is(row?.state, 'running', 'ps shows the one-off running');
  const again = await cli(context, ['up', '-d']);
  assert.is(again.exitCode, 0, `up -d again: ${again.stderr}`);
  assert.not.match(again.stdout, /remove/, `up removes nothing: ${again.stdout}`);
  const wait = await cli(context, ['wait', name]);
  assert.is(wait.stdout.trim(), '5', 'wait prints its exit code');
  assert.is(wait.exitCode, 5, 'and exits with it');
  // The web pod restarts always; its one-off is not the project's: two polls of the supervisor later it is still exited.
  await new Promise((resolve) => setTimeout(resolve, 4500));
  const after = (await rows(context)).find((candidate) => candidate.pod === name);
  assert.is(after?.state, 'exited', 'the supervisor leaves the one-off exited');
  assert.is(after?.exitCode, 5);
  const down = await cli(context, ['down']);
  assert.is(down.exitCode, 0, `down: ${down.stderr}`);
  assert.match(down.stdout, new RegExp(`${name}/web\\s+removed`), 'down removes the one-off too');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project, 'pods', name)), 'its pod is gone');
});

running('a detached one-off: port shows its -p port; a foreground up does not follow it unless named', async (context) => {
  assertSetUp(context);
  const detached = await cli(context, ['run', '-d', '--no-deps', '-p', '8080', 'web', 'sh', '-c', 'echo from-the-one-off; sleep 1000']);
  assert.is(detached.exitCode, 0, `run -d: ${detached.stderr}`);
  const name = detached.stdout.trim();
  const port = await cli(context, ['port', name, '8080']);
  assert.is(port.exitCode, 0, `port: ${port.stderr}`);
  assert.match(port.stdout, /^0\.0\.0\.0:[1-9]\d*$/, 'its -p port is published on a port chosen at attach time');
  const runtime = await openRuntime(context.project, { dirs: { run: context.sandbox.run, state: context.sandbox.state }, readOnly: true });
  const lines = async (only?: string[]) => {
    const said: string[] = [];
    await followProjectLogs(runtime, { follow: false, prefix: true, onLine: (line) => said.push(line), ...(only ? { only } : {}) });
    return said.join('\n');
  };
  await eventually(async () => ((await lines([`${name}/web`])).includes('from-the-one-off') ? true : undefined), 'the one-off\'s output, followed by name');
  assert.not.match(await lines(), /from-the-one-off/, 'with none named, the one-off is not followed');
  const removed = await cli(context, ['rm', '-s', name]);
  assert.is(removed.exitCode, 0, `rm -s: ${removed.stderr}`);
  assert.equal(await leftOfOneOffs(context), [], 'rm -s of a one-off leaves nothing of it');
});

running('run of an unknown pod, or --rm with -d, is refused with the fix', async (context) => {
  assertSetUp(context);
  const unknown = await cli(context, ['run', 'nope', 'true']);
  assert.is(unknown.exitCode, 1);
  assert.match(unknown.stderr, /no pod nope.*choose from: db, web/);
  const both = await cli(context, ['run', '--rm', '-d', 'web', 'true']);
  assert.is(both.exitCode, 1);
  assert.match(both.stderr, /--rm and -d/);
  await eventually(async () => ((await leftOfOneOffs(context)).length === 0 ? true : undefined), 'nothing of a refused run');
});

running.run();
