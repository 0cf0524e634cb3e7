import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { wantedStates } from '../../src/cli/ps.js';
import { timeoutSecondsAsMs } from '../../src/cli/timeout-option.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// The flags of compose's everyday commands on real containers: `ps --services -q --status --filter`,
// `stop/restart/down -t`, `up --force-recreate --no-recreate --abort-on-container-exit --exit-code-from`.
// `stubborn` ignores SIGTERM and has an hour's stop_grace_period: only `-t` can stop it within a test.

const pure = suite('ps --status and --filter, -t: what they take');

pure('states from --status and --filter status=, refused when unknown or another filter', () => {
  assert.is(wantedStates({}), undefined);
  assert.equal([...wantedStates({ status: ['running'], filter: ['status=exited'] })!].sort(), ['exited', 'running']);
  assert.throws(() => wantedStates({ status: ['sleeping'] }), /no container state sleeping/);
  assert.throws(() => wantedStates({ filter: ['label=x'] }), /filters only by status/);
  assert.is(timeoutSecondsAsMs('0'), 0);
  assert.is(timeoutSecondsAsMs('15'), 15_000);
  assert.throws(() => timeoutSecondsAsMs('-1'));
  assert.throws(() => timeoutSecondsAsMs('1.5'));
});

pure.run();

interface Context extends ProjectSandbox, SetupState {}

const flags = suite<Context>('everyday flags on real containers');

const projectFile = (rootfs: string, greeting: string) => `
pods:
  stubborn:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]
        stop_grace_period: 1h
  quick:
    containers:
      main:
        rootfs: ${rootfs}
        env: { GREETING: ${greeting} }
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
  once:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["true"]
`;

flags.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('flags'));
  await writeFile(context.file, projectFile(context.rootfs, 'one'));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

flags.after(async (context) => {
  // stubborn would hold a plain down for its hour.
  await corral(context.sandbox, ['-p', context.project, 'down', '-t', '0']);
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const ok = async (context: Context, args: readonly string[]) => {
  const result = await corral(context.sandbox, ['-p', context.project, ...args]);
  assert.is(result.exitCode, 0, `${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
const pidOf = async (context: Context, resource: string) => {
  const rows = JSON.parse(await ok(context, ['ps', '--format', 'json', resource])) as { pid: number | null; state: string; exitCode: number | null }[];
  assert.is(rows.length, 1);
  return rows[0]!;
};

flags('ps --services, -q, --status, --filter status=, a pod named', async (context) => {
  assertSetUp(context);
  await eventually(async () => ((await pidOf(context, 'once')).state === 'exited' ? true : undefined), 'once exited');
  assert.equal((await ok(context, ['ps', '--services'])).trim().split('\n').sort(), ['once', 'quick', 'stubborn']);
  assert.equal((await ok(context, ['ps', '--services', '--status', 'running'])).trim().split('\n').sort(), ['quick', 'stubborn']);
  assert.equal((await ok(context, ['ps', '-q', '--filter', 'status=exited'])).trim(), `${context.project}.once.main`);
  assert.equal((await ok(context, ['ps', '-a', '-q', 'quick'])).trim(), `${context.project}.quick.main`);
  const bad = await corral(context.sandbox, ['-p', context.project, 'ps', '--status', 'sleeping']);
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /no container state sleeping \(choose from created, running, paused, exited\)/);
});

flags('stop -t 1 ends a container that ignores SIGTERM and has an hour\'s grace: SIGKILL, exit 137', async (context) => {
  assertSetUp(context);
  await ok(context, ['stop', '-t', '1', 'stubborn']);
  const row = await pidOf(context, 'stubborn');
  assert.is(row.state, 'exited');
  assert.is(row.exitCode, 137);
  await ok(context, ['start', 'stubborn']);
  const before = (await pidOf(context, 'stubborn')).pid;
  await ok(context, ['restart', '-t', '0', 'stubborn']);
  const after = await pidOf(context, 'stubborn');
  assert.is(after.state, 'running');
  assert.is.not(after.pid, before, 'restart -t 0 gave it a new process');
  const bad = await corral(context.sandbox, ['-p', context.project, 'stop', '-t', 'soon']);
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /give whole seconds/);
});

flags('up --no-recreate leaves a changed container as it runs; --force-recreate makes every container anew', async (context) => {
  assertSetUp(context);
  await writeFile(context.file, projectFile(context.rootfs, 'two'));
  const first = (await pidOf(context, 'quick')).pid;
  await ok(context, ['-f', context.file, 'up', '-d', '--no-recreate', '-t', '0']);
  assert.is((await pidOf(context, 'quick')).pid, first, '--no-recreate kept the process');
  assert.is((await ok(context, ['exec', 'quick', '--', 'sh', '-c', 'echo $GREETING'])).trim(), 'one');
  const stubborn = (await pidOf(context, 'stubborn')).pid;
  const forced = await ok(context, ['-f', context.file, 'up', '-d', '--force-recreate', '-t', '0']);
  assert.match(forced, /stubborn\/main\s+recreated/);
  assert.is.not((await pidOf(context, 'stubborn')).pid, stubborn, 'an unchanged container was recreated too');
  assert.is((await ok(context, ['exec', 'quick', '--', 'sh', '-c', 'echo $GREETING'])).trim(), 'two');
  const both = await corral(context.sandbox, ['-p', context.project, '-f', context.file, 'up', '-d', '--force-recreate', '--no-recreate']);
  assert.is(both.exitCode, 1);
  assert.match(both.stderr, /do not go together/);
});

flags.run();

const foreground = suite<Context>('up --exit-code-from and --abort-on-container-exit');

foreground.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('exitfrom'));
  await writeFile(context.file, `
pods:
  tests:
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "sleep 1; echo tests-ran; exit 5"]
  server:
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
`);
}));

foreground.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

foreground('the test runner exits 5: up returns 5 and the project is down', async (context) => {
  assertSetUp(context);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--exit-code-from', 'tests']);
  assert.is(up.exitCode, 5, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /tests-ran/);
  assert.match(up.stdout, /tests\/main exited; taking the project down/);
  const ps = await corral(context.sandbox, ['-p', context.project, 'ps', '-q']);
  assert.is(ps.stdout.trim(), '', 'nothing left running');
  const detached = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d', '--abort-on-container-exit']);
  assert.is(detached.exitCode, 1);
  assert.match(detached.stderr, /--abort-on-container-exit needs up in the foreground/);
  const unknown = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--exit-code-from', 'nosuch']);
  assert.is(unknown.exitCode, 1);
  assert.match(unknown.stderr, /--exit-code-from nosuch: no such container in the project \(name one of: .*tests\/main/);
});

foreground.run();
