import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';
import { problemsAfterCrash } from './converge.js';

// A crash at every step that changes the host or writes state, not only where a timer happens to
// fall: each command is run once recording the crash points it passes (CORRAL_CRASH_POINTS), then once
// per point, killed exactly there (CORRAL_CRASH_AT, src/crash-point.ts); after each crash one more
// `up` must run every container and one more `down` must leave nothing. CI crashes each command the
// first time it reaches each point; CORRAL_CRASH_EVERY_OCCURRENCE=1 (npm run chaos) at every time.

const everyOccurrence = process.env.CORRAL_CRASH_EVERY_OCCURRENCE === '1';

interface Context { sandbox: Sandbox; project: string; file: string; changed: string }

const crashes = suite<Context>(`chaos: a crash at each step of up, down, stop and restart${everyOccurrence ? ' (every occurrence)' : ''}`);

/** Two pods: one publishes a port, one shares its PID namespace (a holder process); both use a volume. */
function projectFile(rootfs: string, which: string): string {
  const container = (extra = '') => `
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { WHICH: ${which} }
        volumes: ["data:/data"]
        restart: always${extra}`;
  return `volumes:\n  data:\npods:\n  p0:\n    ports: ["127.0.0.1:0:80"]${container()}\n  p1:\n    share: [net, ipc, uts, pid]${container()}\n`;
}

crashes.before(async (context) => {
  Object.assign(context, await createProjectSandbox('crash'));
  context.changed = path.join(context.sandbox.work, 'changed.yaml');
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!, 'first'));
  await writeFile(context.changed, projectFile(context.sandbox.env.CORRAL_ROOTFS!, 'second'));
});

crashes.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

interface Scenario {
  readonly name: string;
  /** Whether the project is up (from the first file) when the command starts. */
  readonly startsUp: boolean;
  readonly command: (context: Context) => string[];
  /** The file the project converges to afterwards. */
  readonly converges: (context: Context) => string;
}

const SCENARIOS: Scenario[] = [
  { name: 'up', startsUp: false, command: (c) => ['-f', c.file, '-p', c.project, 'up', '-d'], converges: (c) => c.file },
  { name: 'up of a changed file', startsUp: true, command: (c) => ['-f', c.changed, '-p', c.project, 'up', '-d'], converges: (c) => c.changed },
  { name: 'down', startsUp: true, command: (c) => ['-p', c.project, 'down'], converges: (c) => c.file },
  { name: 'stop', startsUp: true, command: (c) => ['-p', c.project, 'stop'], converges: (c) => c.file },
  { name: 'restart', startsUp: true, command: (c) => ['-p', c.project, 'restart'], converges: (c) => c.file },
];

/** Brings the project to where a scenario starts: nothing, or up from the first file. */
async function prepare(context: Context, scenario: Scenario): Promise<void> {
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `${scenario.name}: down before the trial fails: ${down.stderr}`);
  if (!scenario.startsUp) return;
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${scenario.name}: up before the trial fails: ${up.stdout}${up.stderr}`);
}

/** The points the command passes, as NAME#N (the Nth time), in order; only the first of each unless every occurrence is asked for. */
async function pointsOf(context: Context, scenario: Scenario): Promise<string[]> {
  await prepare(context, scenario);
  const record = path.join(context.sandbox.work, 'points');
  await rm(record, { force: true });
  const run = await corral(context.sandbox, scenario.command(context), { env: { CORRAL_CRASH_POINTS: record } });
  assert.is(run.exitCode, 0, `${scenario.name}: the recorded run fails: ${run.stdout}${run.stderr}`);
  const seen = new Map<string, number>();
  const points = (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((name) => {
    seen.set(name, (seen.get(name) ?? 0) + 1);
    return `${name}#${seen.get(name)}`;
  });
  return everyOccurrence ? points : points.filter((point) => point.endsWith('#1'));
}

for (const scenario of SCENARIOS) {
  crashes(`${scenario.name}: killed at each of its steps, one more up and down converge`, async (context) => {
    const points = await pointsOf(context, scenario);
    assert.ok(points.length > 0, `${scenario.name} passes crash points`);
    const failures: string[] = [];
    for (const point of points) {
      await prepare(context, scenario);
      const crashed = await corral(context.sandbox, scenario.command(context), { env: { CORRAL_CRASH_AT: point } });
      // Killed by its own SIGKILL: the helper reports no exit code.
      if (crashed.exitCode !== -1) failures.push(`${point}: not reached (exit ${crashed.exitCode}): ${crashed.stdout}${crashed.stderr}`);
      const problems = await problemsAfterCrash({ ...context, file: scenario.converges(context), containers: 2, bridgedPods: ['p0', 'p1'] });
      failures.push(...problems.map((problem) => `${scenario.name} killed at "${point}": ${problem}`));
    }
    process.stdout.write(`\n  ${scenario.name}: ${points.length} crash points, ${failures.length} failures\n`);
    assert.equal(failures, [], `every crash of ${scenario.name} converges:\n${failures.join('\n')}`);
  });
}

/** The freezer file of a cgroup (v1 or v2) and the value that freezes it. */
function freezerOf(relPath: string): { file: string; frozen: string } {
  return existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? { file: `/sys/fs/cgroup/${relPath}/cgroup.freeze`, frozen: '1' }
    : { file: `/sys/fs/cgroup/freezer/${relPath}/freezer.state`, frozen: 'FROZEN' };
}

// A down killed inside the native kill of a pod's cgroup (between its freeze and its thaw) left the
// cgroup frozen; the next up created the pod's container in it, and `runc create` hung for ever. The
// crash falls inside one syscall-shaped call, so the test makes the state it leaves: the containers
// removed, the first pod's processes killed, its cgroup frozen.
crashes('a down killed while a pod cgroup is frozen: the next up thaws it and starts the pod', async (context) => {
  await prepare(context, SCENARIOS.find((scenario) => scenario.name === 'down')!);
  const crashed = await corral(context.sandbox, ['-p', context.project, 'down'], { env: { CORRAL_CRASH_AT: 'remove pod: its processes killed#1' } });
  assert.is(crashed.exitCode, -1, `down is killed after killing the first pod's processes: ${crashed.stdout}${crashed.stderr}`);
  const freezer = freezerOf(`corral/${context.project}/p0`);
  await writeFile(freezer.file, freezer.frozen);
  const problems = await problemsAfterCrash({ ...context, containers: 2, bridgedPods: ['p0', 'p1'] });
  assert.equal(problems, [], `up and down converge with a frozen pod cgroup:\n${problems.join('\n')}`);
});

crashes.run();
