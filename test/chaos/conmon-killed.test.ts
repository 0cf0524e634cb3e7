import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';
import { conmonPidOf, isRunning, psRows } from './observe.js';

// conmon killed from outside (kill -9): the container it watched would run on unwatched, with no
// exit ever recorded. The supervisor must see it as exited and apply its restart policy: `always`
// comes back as a new process under a new conmon, `no` stays exited and `ps` says so.

const faults = suite<{ sandbox: Sandbox; project: string; file: string }>('faults: conmon killed from outside');

faults.before(async (context) => {
  Object.assign(context, await createProjectSandbox('conmon'));
  context.sandbox.env.CORRAL_RESTART_BACKOFF = '200,1000';
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const pod = (restart: string) => `
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        restart: ${restart}`;
  await writeFile(context.file, `pods:\n  always:${pod('always')}\n  once:${pod('"no"')}\n`);
});

faults.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

faults('kill -9 of conmon: restart: always comes back with a new pid, restart: no stays exited', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const before = await psRows(context.sandbox, context.project);
  const pids = { always: before.get('always/main')?.pid, once: before.get('once/main')?.pid };
  assert.ok(pids.always && pids.once, `both containers run: ${JSON.stringify([...before.values()])}`);
  const conmons = { always: await conmonPidOf(context.sandbox, context.project, 'always.main'), once: await conmonPidOf(context.sandbox, context.project, 'once.main') };
  assert.ok(await isRunning(conmons.always) && await isRunning(conmons.once), 'both conmons run before the kill');

  process.kill(conmons.always, 'SIGKILL');
  process.kill(conmons.once, 'SIGKILL');

  const after = await eventually(async () => {
    const rows = await psRows(context.sandbox, context.project);
    const always = rows.get('always/main');
    const once = rows.get('once/main');
    return always?.state === 'running' && always.pid !== pids.always && once?.state.startsWith('exited') ? rows : undefined;
  }, 'always/main running with a new pid and once/main exited', 20_000);
  const always = after.get('always/main')!;
  assert.ok(always.restarts >= 1, `the restart is counted: ${JSON.stringify(always)}`);
  assert.ok(!(await isRunning(pids.always!)), 'the old process of always/main is gone, not left running unwatched');
  assert.ok(!(await isRunning(pids.once!)), 'the process of once/main is gone, not left running unwatched');
  assert.ok(await isRunning(await conmonPidOf(context.sandbox, context.project, 'always.main')), 'always/main has a live conmon again');

  // restart: no stays exited, also after a few more supervisor passes (it polls every 2 s).
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const table = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.match(table.stdout, /once\s+main\s+exited \(137\)/, `ps says once/main exited (killed):\n${table.stdout}`);
  assert.match(table.stdout, /always\s+main\s+running/, `ps says always/main runs:\n${table.stdout}`);
  process.stdout.write(`\n  faults: conmon killed -> restart: always restarted (pid ${pids.always} -> ${always.pid}), restart: no exited (137)\n`);
});

faults.run();
