import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, corral, createProjectSandbox, downAndAssertNothingLeaks, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { psRows } from './observe.js';
import { random, shuffled } from './random.js';

// Two `up`s of different files (env A, env B) and a `down` on one project, started within a few
// milliseconds of each other: the project lock serialises them, and the end state must be exactly
// that of the command that took the lock last, never a mix. Which one that was is read from the
// line each command logs (--debug) when it takes the lock, stamped on the monotonic clock.
// CORRAL_CHAOS_RACES (default 10) and CORRAL_CHAOS_SEED steer it.

const races = Number(process.env.CORRAL_CHAOS_RACES ?? 10);
// Any other seed replays with CORRAL_CHAOS_SEED.
const seed = Number(process.env.CORRAL_CHAOS_SEED ?? 7);
const PODS = ['a', 'b'];
const CONTAINERS = ['x', 'y'];

type Command = 'up A' | 'up B' | 'down';

const faults = suite<{ sandbox: Sandbox; project: string; files: Record<'A' | 'B', string> }>(`faults: up, up and down racing (${races} races, seed ${seed})`);

faults.before(async (context) => {
  Object.assign(context, await createProjectSandbox('race'));
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const fileOf = (which: string) => `pods:${PODS.map((pod) => `
  ${pod}:
    network: none
    containers:${CONTAINERS.map((container) => `
      ${container}:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { WHICH: ${which} }
        restart: always`).join('')}`).join('')}\n`;
  context.files = { A: path.join(context.sandbox.work, 'a.yaml'), B: path.join(context.sandbox.work, 'b.yaml') };
  await writeFile(context.files.A, fileOf('A'));
  await writeFile(context.files.B, fileOf('B'));
});

faults.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

/** When (monotonic ns) the command took the project lock to apply or take down, from its --debug output. */
function lockTakenAt(stderr: string, lockFile: string): bigint | undefined {
  const stamps = [...stderr.matchAll(/lock (\S+) taken by pid \d+ at (\d+) ns to (apply|take down)$/gm)].filter((match) => match[1] === lockFile).map((match) => BigInt(match[2]!));
  return stamps.length === 1 ? stamps[0] : undefined;
}

interface Race {
  readonly start?: 'A';
  readonly order: Command[];
  /** Milliseconds between the start of each command and the next. */
  readonly delays: number[];
  /**
   * Start the last command only once every other one has taken the lock (the last of them may still
   * hold it): the last command then takes the lock last however slow the machine is, where a delay
   * alone depends on how fast each command reaches its lock.
   */
  readonly lastAfterOthersLocked?: boolean;
}

/** Settles when the command's --debug output says it took the lock (or when it ended without). */
function lockTakenBy(run: ReturnType<typeof execa>, lockFile: string): Promise<void> {
  let stderr = '';
  return new Promise((resolve) => {
    run.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      if (lockTakenAt(stderr, lockFile) !== undefined) resolve();
    });
    run.then(() => resolve(), () => resolve());
  });
}

/** Runs one race and checks the end state against the command that took the lock last; returns it. */
async function runRace(context: { sandbox: Sandbox; project: string; files: Record<'A' | 'B', string> }, race: Race, label: string): Promise<Command> {
  const lockFile = path.join(context.sandbox.run, context.project, 'lock');
  if (race.start) assert.is((await corral(context.sandbox, ['-f', context.files[race.start], '-p', context.project, 'up', '-d'])).exitCode, 0, `${label}: the starting up works`);
  const runs = new Map<Command, ReturnType<typeof execa>>();
  const locked: Promise<void>[] = [];
  for (const [index, command] of race.order.entries()) {
    if (race.lastAfterOthersLocked && index === race.order.length - 1) await Promise.all(locked);
    const args = command === 'down' ? ['--debug', '-p', context.project, 'down'] : ['--debug', '-f', context.files[command === 'up A' ? 'A' : 'B'], '-p', context.project, 'up', '-d'];
    const run = execa(process.execPath, [cliEntry, ...args], { env: context.sandbox.env, reject: false, stdin: 'ignore', timeout: 120_000 });
    runs.set(command, run);
    locked.push(lockTakenBy(run, lockFile));
    await new Promise((resolve) => setTimeout(resolve, race.delays[index]));
  }
  const results = new Map<Command, { exitCode?: number; stderr: string; stdout: string }>();
  for (const [command, run] of runs) {
    const result = await run;
    results.set(command, { exitCode: result.exitCode, stderr: String(result.stderr), stdout: String(result.stdout) });
  }
  for (const [command, result] of results) assert.is(result.exitCode, 0, `${label}: ${command} fails: ${result.stdout}\n${result.stderr}`);
  const stamps = [...results].map(([command, result]) => [command, lockTakenAt(result.stderr, lockFile)] as const);
  for (const [command, stamp] of stamps) assert.ok(stamp !== undefined, `${label}: ${command} says once when it took the lock to apply or take down`);
  const last = stamps.reduce((a, b) => (a[1]! > b[1]! ? a : b))[0];

  const rows = await psRows(context.sandbox, context.project);
  if (last === 'down') {
    assert.equal([...rows.keys()], [], `${label}: down was last, so nothing runs`);
    assert.not.ok(existsSync(path.join(context.sandbox.state, 'projects', context.project, 'applied.json')), `${label}: down was last, so nothing is applied`);
    const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
    assert.equal(leaks, [], `${label}: down was last but left: ${leaks.join('; ')}`);
    return last;
  }
  const which = last === 'up A' ? 'A' : 'B';
  const expected = PODS.flatMap((pod) => CONTAINERS.map((container) => `${pod}/${container} running`));
  assert.equal([...rows.values()].map((row) => `${row.pod}/${row.container} ${row.state}`).sort(), expected, `${label}: ${last} was last, so every container of both pods runs`);
  for (const pod of PODS) {
    for (const container of CONTAINERS) {
      const env = await inside(context.sandbox, context.project, `${pod}.${container}`, 'echo $WHICH');
      assert.is(String(env.stdout).trim(), which, `${label}: ${last} was last, so ${pod}/${container} has its env`);
    }
  }
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `${label}: down after the race fails: ${down.stderr}`);
  return last;
}

const describe = (race: Race, index: number | string) => `race ${index} (seed ${seed}, start ${race.start ?? 'empty'}, ${race.order.join(' / ')} ${race.delays.join('/')} ms apart${race.lastAfterOthersLocked ? ', the last once the others took the lock' : ''})`;

faults('the end state is that of the command that took the lock last', async (context) => {
  const next = random(seed);
  const outcomes: Record<Command, number> = { 'up A': 0, 'up B': 0, down: 0 };
  for (let index = 0; index < races; index++) {
    const start = next() < 0.5 ? 'A' as const : undefined;
    const order = shuffled<Command>(['up A', 'up B', 'down'], next);
    const race = { start, order, delays: order.map(() => Math.floor(next() * 5)) };
    outcomes[await runRace(context, race, describe(race, index))]++;
  }
  // A down starts faster than an up and often takes the lock first: a command never last in the
  // random races gets a race of its own, started once the other two took the lock, so every ending
  // is checked. (Started a fixed delay later instead, a loaded machine let it overtake them anyway.)
  for (const command of Object.keys(outcomes) as Command[]) {
    if (outcomes[command] > 0) continue;
    const race = { start: 'A' as const, order: [...(['up A', 'up B', 'down'] as Command[]).filter((other) => other !== command), command], delays: [2, 0, 0], lastAfterOthersLocked: true };
    const last = await runRace(context, race, describe(race, `${command} last`));
    assert.is(last, command, `${command} started after the others took the lock, yet ${last} took it last`);
    outcomes[last]++;
  }
  process.stdout.write(`\n  faults: ${Object.values(outcomes).reduce((a, b) => a + b)} races of up A / up B / down (${races} random) -> each ended as its last lock holder (${Object.entries(outcomes).map(([command, count]) => `${command} last ${count}x`).join(', ')}), never a mix\n`);
});

faults.run();
