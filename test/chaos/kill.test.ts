import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, corral, createProjectSandbox, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { random } from './random.js';

// Crash anywhere and converge: `up` and `down` of a 5-pod project with networking, published ports
// and volumes are killed with SIGKILL at a random moment (and now and then the supervisor too);
// after each, one more `up` must reach the desired state and one more `down` must leave nothing.
// CORRAL_CHAOS_TRIALS (default 30) and CORRAL_CHAOS_SEED (printed) steer it.

const trials = Number(process.env.CORRAL_CHAOS_TRIALS ?? 30);
// A fixed default seed keeps CI repeatable; any other seed replays with CORRAL_CHAOS_SEED.
const seed = Number(process.env.CORRAL_CHAOS_SEED ?? 1512923253);

const chaos = suite<{ sandbox: Sandbox; project: string; file: string }>(`chaos: kill -9 during up and down (${trials} trials, seed ${seed})`);

chaos.before(async (context) => {
  Object.assign(context, await createProjectSandbox('chaos'));
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const pods = Array.from({ length: 5 }, (_, index) => `
  p${index}:
${index === 0 ? '    ports: ["127.0.0.1:0:80"]\n' : ''}    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        volumes: ["data:/data"]
        restart: always`).join('');
  await writeFile(context.file, `volumes:\n  data:\npods:${pods}\n`);
  process.stdout.write(`\n  chaos: ${trials} trials, seed ${seed} (CORRAL_CHAOS_SEED=${seed} replays them)\n`);
});

chaos.after(async (context) => {
  await corral(context.sandbox, ['-p', context.project, 'down']);
  await context.sandbox.dispose();
});

/** How many containers `ps` shows running, and what it printed (for the failure message). */
async function running(context: { sandbox: Sandbox; project: string }): Promise<{ count: number; ps: string }> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  if (result.exitCode !== 0) return { count: -1, ps: result.stderr };
  return { count: (JSON.parse(result.stdout) as { state: string }[]).filter((row) => row.state === 'running').length, ps: result.stdout };
}

chaos('every crash converges with one more up, and one more down leaves nothing', async (context) => {
  const next = random(seed);
  const killed: string[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const operation = next() < 0.6 ? 'up' : 'down';
    if (operation === 'down') await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
    const delayMs = Math.floor(next() * 1500);
    const child = execa(process.execPath, [cliEntry, '-f', context.file, '-p', context.project, ...(operation === 'up' ? ['up', '-d'] : ['down'])], { env: context.sandbox.env, reject: false });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const wasRunning = child.exitCode === null;
    child.kill('SIGKILL');
    await child;
    if (next() < 0.3) await execa('pkill', ['-KILL', '-f', `supervise -p ${context.project}$`], { reject: false });
    killed.push(`${operation}@${delayMs}ms${wasRunning ? '' : ' (had finished)'}`);

    const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
    assert.is(up.exitCode, 0, `trial ${trial} (${killed.at(-1)}, seed ${seed}): up after the crash fails: ${up.stdout}\n${up.stderr}`);
    const after = await running(context);
    assert.is(after.count, 5, `trial ${trial} (${killed.at(-1)}, seed ${seed}): all 5 containers run again; up said:\n${up.stdout}${up.stderr}\nps says: ${after.ps}`);
    const down = await corral(context.sandbox, ['-p', context.project, 'down']);
    assert.is(down.exitCode, 0, `trial ${trial}: down fails: ${down.stderr}`);
    const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
    assert.equal(leaks, [], `trial ${trial} (${killed.at(-1)}, seed ${seed}) left: ${leaks.join('; ')}`);
  }
  process.stdout.write(`  chaos: ${trials} trials survived (${killed.filter((entry) => !entry.includes('finished')).length} killed mid-way), 0 leaks\n`);
});

chaos.run();
