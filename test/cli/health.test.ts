import { suite } from 'uvu';
import { supervisorPid } from '../chaos/observe.js';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, inside, type ProjectSandbox } from '../helpers/sandbox.js';

// Health is about one process, end to end: after `restart`, after `stop` + `start`, `ps` shows a
// container `starting` until its new process passes its own probe (failures inside start_period do not
// count, so nothing restarts it), and a supervisor that takes over keeps what was known of a process
// that still runs. The probe passes only once the test creates /tmp/ready in the container, which each
// new process removes first: what ps may show before and after is never a matter of timing.

interface Row { pod: string; container: string; pid: number | null; restarts: number; uptimeSeconds: number | null; health: string | null }

const health = suite<ProjectSandbox>('health of a restarted or started container');

// Probed every second from the start (start_interval), one counted failure is enough to make it
// unhealthy, and `always` would restart it at once: a failure counted inside start_period shows.
function projectFile(rootfs: string): string {
  return `
pods:
  late:
    restart: always
    containers:
      app:
        rootfs: ${rootfs}
        command: ["sh", "-c", "rm -f /tmp/ready; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        healthcheck:
          test: ["CMD-SHELL", "test -f /tmp/ready"]
          interval: 1s
          start_interval: 1s
          start_period: 20s
          retries: 1
`;
}

async function appRow(context: ProjectSandbox): Promise<Row> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps fails: ${result.stderr}`);
  const row = (JSON.parse(result.stdout) as Row[]).find((candidate) => candidate.pod === 'late' && candidate.container === 'app');
  assert.ok(row, `ps lists late/app: ${result.stdout}`);
  return row;
}

/** Polls ps (bounded) until `done`; every row on the way must pass `check`. Returns the rows seen. */
async function pollUntil(context: ProjectSandbox, what: string, done: (row: Row) => boolean, check: (row: Row) => void, timeoutMs = 30_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  const seen: Row[] = [];
  for (let attempt = 0; attempt < 300; attempt++) {
    const row = await appRow(context);
    seen.push(row);
    check(row);
    if (done(row)) return seen;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}; ps showed ${seen.map((shown) => `${shown.pid}:${shown.health}@${shown.uptimeSeconds}s`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up polling for ${what} after 300 ps`);
}

/** Lets the probe of the running process pass. */
async function makeReady(context: ProjectSandbox): Promise<void> {
  const touched = await inside(context.sandbox, context.project, 'late.app', 'touch /tmp/ready');
  assert.is(touched.exitCode, 0, `cannot create /tmp/ready: ${touched.stderr}`);
}

/**
 * The new process `pid` is `starting` for as long as its probe fails (3 s of it, three probes or so,
 * each of which would count against a process past its start period), then `healthy` once it passes;
 * never `unhealthy`, never the health of the process before, never replaced by a restart.
 */
async function assertStartingUntilItsProbePasses(context: ProjectSandbox, after: string, pid: number, restarts: number): Promise<void> {
  const sameProcess = (row: Row) => {
    assert.is(row.pid, pid, `after ${after}: the same process throughout (a counted failure would have restarted it)`);
    assert.is(row.restarts, restarts, `after ${after}: nothing restarted it`);
  };
  await pollUntil(context, `3 s of failing probes after ${after}`, (row) => (row.uptimeSeconds ?? 0) >= 3, (row) => {
    sameProcess(row);
    assert.is(row.health, 'starting', `after ${after}: starting while its probe fails, at ${row.uptimeSeconds}s`);
  });
  await makeReady(context);
  const rows = await pollUntil(context, `healthy after ${after}`, (row) => row.health === 'healthy', (row) => {
    sameProcess(row);
    assert.ok(row.health === 'starting' || row.health === 'healthy', `after ${after}: starting until its probe passes, then healthy; ps showed ${row.health}`);
  });
  assert.is(rows.at(-1)!.health, 'healthy');
}

health.before(async (context) => {
  Object.assign(context, await createProjectSandbox('health'));
  await writeFile(context.file, projectFile(context.rootfs));
});

health.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

health('up: starting until the probe passes, then healthy', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  await pollUntil(context, 'the supervisor to judge the new container', (row) => row.health === 'starting', (row) => {
    assert.ok(row.health === null || row.health === 'starting', `a container the supervisor has not seen yet has no health, then starting; ps showed ${row.health}`);
  });
  const { pid } = await appRow(context);
  await makeReady(context);
  await pollUntil(context, 'healthy after up', (row) => row.health === 'healthy', (row) => {
    assert.is(row.pid, pid, 'the same process');
    assert.ok(row.health === 'starting' || row.health === 'healthy', `starting, then healthy; ps showed ${row.health}`);
  });
});

health('restart: starting until the new process passes its probe, failures in its start period not counted', async (context) => {
  const before = await appRow(context);
  assert.is(before.health, 'healthy', 'healthy before the restart');
  const restart = await corral(context.sandbox, ['-p', context.project, 'restart', 'late/app']);
  assert.is(restart.exitCode, 0, `restart fails: ${restart.stderr}`);
  const after = await appRow(context);
  assert.ok(after.pid !== null && after.pid !== before.pid, `a new process (${before.pid} -> ${after.pid})`);
  await assertStartingUntilItsProbePasses(context, 'restart', after.pid!, before.restarts);
});

health('stop, then start: starting until the new process passes its probe', async (context) => {
  const before = await appRow(context);
  assert.is(before.health, 'healthy', 'healthy before the stop');
  const stop = await corral(context.sandbox, ['-p', context.project, 'stop', 'late/app']);
  assert.is(stop.exitCode, 0, `stop fails: ${stop.stderr}`);
  const stopped = await appRow(context);
  assert.is(stopped.health, null, 'a stopped container has no health');
  const start = await corral(context.sandbox, ['-p', context.project, 'start', 'late/app']);
  assert.is(start.exitCode, 0, `start fails: ${start.stderr}`);
  const after = await appRow(context);
  assert.ok(after.pid !== null && after.pid !== before.pid, `a new process (${before.pid} -> ${after.pid})`);
  await assertStartingUntilItsProbePasses(context, 'stop and start', after.pid!, before.restarts);
});

health('a supervisor that takes over keeps a healthy process healthy', async (context) => {
  const before = await appRow(context);
  assert.is(before.health, 'healthy', 'healthy before the takeover');
  const killed = await supervisorPid(context);
  process.kill(killed, 'SIGKILL');
  // ps finds no supervisor and starts one, which reads what the dead one wrote; ps shows that meanwhile.
  assert.is((await appRow(context)).health, 'healthy', 'what the dead supervisor wrote');
  const file = path.join(context.sandbox.state, 'projects', context.project, 'machines.json');
  await eventually(async () => {
    const pid = (JSON.parse(await readFile(file, 'utf8')) as { pid: number }).pid;
    return pid !== killed && existsSync(`/proc/${pid}`) ? pid : undefined;
  }, 'a new supervisor, started by ps');
  // Three probe intervals under the new supervisor, counted from the first ps it answered.
  let since: number | undefined;
  await pollUntil(context, '3 s under the new supervisor', (row) => row.uptimeSeconds! >= since! + 3, (row) => {
    since ??= row.uptimeSeconds!;
    assert.is(row.pid, before.pid, 'the same process');
    assert.is(row.health, 'healthy', `the process that was healthy stays healthy across the takeover; ps showed ${row.health}`);
  });
});

health.run();
