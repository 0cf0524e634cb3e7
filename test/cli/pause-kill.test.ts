import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { containerCgroup } from '../../src/state/paths.js';
import { cgroupVersion } from '../../src/native.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// `pause`/`unpause` (the freezer) and `kill [-s SIGNAL]`, as a user checks them: the counter a paused
// container writes stops where it stands and its cgroup says frozen; the supervisor neither probes
// nor restarts it (its probe would fail while frozen, and `always` would restart it); `unpause` lets
// it count on; a paused container can still be stopped and taken down. `kill` sends SIGKILL by
// default, which no restart policy answers, and another signal just reaches the process.

interface Row { pod: string; container: string; state: string; pid: number | null; exitCode: number | null; restarts: number; health: string | null }
interface Context extends ProjectSandbox { data: string }

const paused = suite<Context>('pause, unpause and kill');

/** How long a paused container is watched for a tick, a probe or a restart that must not come (ms). */
const QUIET_MS = 2500;

function projectFile(rootfs: string, data: string): string {
  return `
pods:
  ticker:
    restart: always
    containers:
      app:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'echo hup >> /data/signals' HUP; n=0; while true; do n=$$((n+1)); echo $$n > /data/ticks; sleep 0.1; done"]
        volumes: ["${data}:/data"]
        healthcheck:
          test: ["CMD-SHELL", "test -f /data/ticks"]
          interval: 1s
          retries: 1
`;
}

paused.before(async (context) => {
  Object.assign(context, await createProjectSandbox('pause'));
  context.data = path.join(context.sandbox.work, 'data');
  await mkdir(context.data);
  await writeFile(context.file, projectFile(context.rootfs, context.data));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
});

paused.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

async function row(context: Context): Promise<Row> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps: ${result.stderr}`);
  return (JSON.parse(result.stdout) as Row[])[0]!;
}

/** The supervisor's own account, for the message of a failed check about what it did. */
const supervisorLog = (context: Context) => readFile(path.join(context.sandbox.state, 'projects', context.project, 'supervisor.log'), 'utf8').catch(() => '(no log)');

const ticks = async (context: Context) => Number((await readFile(path.join(context.data, 'ticks'), 'utf8')).trim() || 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The container's freezer state as the kernel keeps it: FROZEN/THAWED (v1) or 1/0 in cgroup.freeze (v2). */
async function freezerState(context: Context): Promise<string> {
  const cgroup = containerCgroup(context.project, 'ticker', 'app');
  const file = cgroupVersion() === 2 ? `/sys/fs/cgroup/${cgroup}/cgroup.freeze` : `/sys/fs/cgroup/freezer/${cgroup}/freezer.state`;
  return (await readFile(file, 'utf8')).trim();
}

paused('pause freezes the container where it stands; ps says paused; nothing probes or restarts it', async (context) => {
  await eventually(async () => ((await row(context)).health === 'healthy' ? true : undefined), 'ticker/app healthy', 30_000);
  const before = await row(context);
  const pause = await corral(context.sandbox, ['-p', context.project, 'pause', 'ticker']);
  assert.is(pause.exitCode, 0, `pause: ${pause.stderr}`);
  assert.match(pause.stdout, /ticker\/app\s+paused/);
  assert.ok(['FROZEN', '1'].includes(await freezerState(context)), 'the kernel has the cgroup frozen');
  const frozenAt = await ticks(context);
  await sleep(QUIET_MS);
  assert.is(await ticks(context), frozenAt, 'the counter did not move while paused');
  const seen = await row(context);
  assert.is(seen.state, 'paused');
  assert.is(seen.pid, before.pid, 'the same process');
  assert.is(seen.restarts, 0, 'not restarted while paused (a probe into a frozen container cannot pass)');

  const again = await corral(context.sandbox, ['-p', context.project, 'start', 'ticker/app']);
  assert.is(again.exitCode, 2, `start of a paused container is refused: ${again.stdout}${again.stderr}`);
  assert.match(again.stdout + again.stderr, /unpause/);
});

paused('unpause thaws it: the same process counts on, healthy, never restarted', async (context) => {
  const before = await row(context);
  const unpause = await corral(context.sandbox, ['-p', context.project, 'unpause']);
  assert.is(unpause.exitCode, 0, `unpause: ${unpause.stderr}`);
  assert.ok(['THAWED', '0'].includes(await freezerState(context)), 'the kernel has the cgroup thawed');
  const thawedAt = await ticks(context);
  await eventually(async () => ((await ticks(context)) > thawedAt ? true : undefined), 'the counter moving again');
  const seen = await row(context);
  assert.equal([seen.state, seen.pid, seen.restarts], ['running', before.pid, 0]);
  const twice = await corral(context.sandbox, ['-p', context.project, 'unpause', 'ticker/app']);
  assert.is.not(twice.exitCode, 0, 'unpause of a running container is refused');
  assert.match(twice.stdout + twice.stderr, /not paused/);
});

paused('kill -s HUP reaches the process, which runs on', async (context) => {
  const before = await row(context);
  const kill = await corral(context.sandbox, ['-p', context.project, 'kill', '-s', 'SIGHUP', 'ticker']);
  assert.is(kill.exitCode, 0, `kill -s SIGHUP: ${kill.stderr}`);
  await eventually(async () => ((await readFile(path.join(context.data, 'signals'), 'utf8').catch(() => '')).includes('hup') ? true : undefined), 'the HUP trap ran');
  const seen = await row(context);
  assert.equal([seen.state, seen.pid, seen.restarts], ['running', before.pid, 0], `the same process, never restarted: ${JSON.stringify(seen)}; supervisor log:\n${await supervisorLog(context)}`);
});

paused('kill of a paused container: SIGKILL ends it (137) and restart: always does not bring it back', async (context) => {
  assert.is((await corral(context.sandbox, ['-p', context.project, 'pause'])).exitCode, 0);
  const kill = await corral(context.sandbox, ['-p', context.project, 'kill']);
  assert.is(kill.exitCode, 0, `kill: ${kill.stderr}`);
  const exited = await eventually(async () => {
    const seen = await row(context);
    return seen.state === 'exited' ? seen : undefined;
  }, 'ticker/app exited');
  assert.is(exited.exitCode, 137);
  await sleep(QUIET_MS);
  const after = await row(context);
  assert.equal([after.state, after.restarts], ['exited', 0], `no restart policy answers a kill: ${JSON.stringify(after)}; supervisor log:\n${await supervisorLog(context)}`);
});

paused('a paused container is stopped and taken down', async (context) => {
  const start = await corral(context.sandbox, ['-p', context.project, 'start']);
  assert.is(start.exitCode, 0, `start: ${start.stderr}`);
  await eventually(async () => ((await row(context)).state === 'running' ? true : undefined), 'ticker/app running');
  assert.is((await corral(context.sandbox, ['-p', context.project, 'pause'])).exitCode, 0);
  const stop = await corral(context.sandbox, ['-p', context.project, 'stop']);
  assert.is(stop.exitCode, 0, `stop of a paused container: ${stop.stderr}`);
  assert.is((await row(context)).state, 'exited');
  assert.is((await corral(context.sandbox, ['-p', context.project, 'start'])).exitCode, 0);
  assert.is((await corral(context.sandbox, ['-p', context.project, 'pause'])).exitCode, 0);
  // The after hook takes it down paused and checks that nothing is left.
});

paused.run();
