import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliEntry, corral, createProjectSandbox, type Sandbox } from '../helpers/sandbox.js';
import { problemsAfterCrash } from './converge.js';
import { random } from './random.js';

// Crash anywhere and converge: a command on a 5-pod project with networking, a published port and a
// volume is killed with SIGKILL at a random moment (and now and then the supervisor too): `up`,
// `down`, `stop`, `restart`, an apply of `watch` after a save, and an apply of `gitops --once` after
// a commit. After each, one more `up` must reach the desired state and one more `down` must leave
// nothing. Each trial has a seed of its own, printed with it: CORRAL_CHAOS_SEED=S CORRAL_CHAOS_TRIALS=1
// replays trial S alone. CORRAL_CHAOS_TRIALS (default 30) and CORRAL_CHAOS_SEED (the first trial's)
// steer it; `npm run chaos` runs it long with a random first seed.

const trials = Number(process.env.CORRAL_CHAOS_TRIALS ?? 30);
// A fixed default keeps CI repeatable.
const firstSeed = Number(process.env.CORRAL_CHAOS_SEED ?? 1512923253);

type Operation = 'up' | 'down' | 'stop' | 'restart' | 'watch' | 'gitops';
/** How often each operation is drawn, out of 1. */
const OPERATIONS: readonly [Operation, number][] = [['up', 0.35], ['down', 0.25], ['stop', 0.1], ['restart', 0.1], ['watch', 0.1], ['gitops', 0.1]];
const CONTAINERS = 5;

interface Context { sandbox: Sandbox; project: string; file: string; repo: string; repoFile: string; rootfs: string; edits: number }

const chaos = suite<Context>(`chaos: kill -9 during up, down, stop, restart, watch and gitops (${trials} trials, first seed ${firstSeed})`);

function projectText(context: Context, edit: number): string {
  const pods = Array.from({ length: CONTAINERS }, (_, index) => `
  p${index}:
${index === 0 ? '    ports: ["127.0.0.1:0:80"]\n' : ''}    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { EDIT: "${edit}" }
        volumes: ["data:/data"]
        restart: always`).join('');
  return `name: ${context.project}\nvolumes:\n  data:\npods:${pods}\n`;
}

const git = (context: Context, ...args: string[]) => execa('git', ['-C', context.repo, ...args], {
  env: { GIT_AUTHOR_NAME: 'chaos', GIT_AUTHOR_EMAIL: 'chaos@localhost', GIT_COMMITTER_NAME: 'chaos', GIT_COMMITTER_EMAIL: 'chaos@localhost' },
});

chaos.before(async (context) => {
  Object.assign(context, await createProjectSandbox('chaos'));
  context.rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  context.edits = 0;
  context.repo = path.join(context.sandbox.work, 'repo');
  context.repoFile = path.join(context.repo, 'corral.yaml');
  await mkdir(context.repo, { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main', context.repo]);
  await writeFile(context.file, projectText(context, 0));
  process.stdout.write(`\n  chaos: ${trials} trials from seed ${firstSeed} (CORRAL_CHAOS_SEED=<a trial's seed> CORRAL_CHAOS_TRIALS=1 replays it)\n`);
});

chaos.after(async (context) => {
  await corral(context.sandbox, ['-p', context.project, 'down']);
  await context.sandbox.dispose();
});

/** Each trial's seed, drawn from the first: trial 0 uses the first seed itself, so that a printed seed replays its trial. */
function trialSeeds(first: number, count: number): number[] {
  const next = random(first);
  return Array.from({ length: count }, (_, index) => (index === 0 ? first : Math.floor(next() * 2 ** 31)));
}

function drawOperation(next: () => number): Operation {
  let draw = next();
  for (const [operation, weight] of OPERATIONS) {
    if ((draw -= weight) < 0) return operation;
  }
  return 'up';
}

/** Saves the project file as editors do (a new file renamed over it), with a change that recreates every container. */
async function editProjectFile(context: Context, file: string): Promise<void> {
  context.edits++;
  await writeFile(`${file}.new`, projectText(context, context.edits));
  await rename(`${file}.new`, file);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the CLI with these arguments, not waited for. */
const start = (context: Context, args: string[]): ResultPromise => execa(process.execPath, [cliEntry, ...args], { env: context.sandbox.env, reject: false, stdin: 'ignore', cwd: context.sandbox.work });

/** Brings the project up and waits (bounded) until its containers run; for operations that need a running project. */
async function upFirst(context: Context): Promise<void> {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up before the trial fails: ${up.stdout}${up.stderr}`);
}

/**
 * Starts the operation and returns the process to kill at the drawn moment. watch is killed during
 * the apply that a save sets off (the save comes once its first apply is done); gitops during the
 * apply of a new commit.
 */
async function startOperation(context: Context, operation: Operation): Promise<{ child: ResultPromise }> {
  const target = ['-f', context.file, '-p', context.project];
  switch (operation) {
    case 'up':
      return { child: start(context, [...target, 'up', '-d']) };
    case 'down':
      await upFirst(context);
      return { child: start(context, ['-p', context.project, 'down']) };
    case 'stop':
    case 'restart':
      await upFirst(context);
      return { child: start(context, ['-p', context.project, operation]) };
    case 'watch': {
      const watch = start(context, [...target, 'watch']);
      let output = '';
      watch.stdout!.on('data', (chunk: Buffer) => (output += chunk));
      for (let waited = 0; !output.includes('watching ') && watch.exitCode === null && waited < 60_000; waited += 50) await sleep(50);
      assert.ok(output.includes('watching '), `watch starts: ${output}`);
      await editProjectFile(context, context.file);
      return { child: watch };
    }
    case 'gitops': {
      await editProjectFile(context, context.repoFile);
      await git(context, 'add', '-A');
      await git(context, 'commit', '-q', '-m', `edit ${context.edits}`);
      return { child: start(context, ['gitops', '--repo', context.repo, '--branch', 'main', '--path', 'corral.yaml', '--once']) };
    }
  }
}

chaos('every crash converges with one more up, and one more down leaves nothing', async (context) => {
  const killed: string[] = [];
  const failures: string[] = [];
  for (const [trial, seed] of trialSeeds(firstSeed, trials).entries()) {
    const next = random(seed);
    const operation = drawOperation(next);
    const delayMs = Math.floor(next() * (operation === 'gitops' ? 3000 : 1500));
    const killSupervisor = next() < 0.3;
    // Wrapped: an async function returning the process itself would wait for it to end.
    const { child } = await startOperation(context, operation);
    await sleep(delayMs);
    const wasRunning = child.exitCode === null;
    child.kill('SIGKILL');
    await child;
    if (killSupervisor) await execa('pkill', ['-KILL', '-f', `supervise -p ${context.project}$`], { reject: false });
    const what = `trial ${trial} (seed ${seed}): ${operation} killed at ${delayMs} ms${wasRunning ? '' : ' (had finished)'}${killSupervisor ? ', supervisor killed' : ''}`;
    killed.push(what);
    // A watch or gitops trial leaves the edited file behind: the project converges to it.
    const file = operation === 'gitops' ? context.repoFile : context.file;
    const problems = await problemsAfterCrash({ ...context, file, containers: CONTAINERS, bridgedPods: Array.from({ length: CONTAINERS }, (_, index) => `p${index}`) });
    process.stdout.write(`  ${what}: ${problems.length === 0 ? 'converged' : 'FAILED'}\n`);
    failures.push(...problems.map((problem) => `${what}: ${problem}`));
    // Stop at the first failure: what comes after it is no longer a trial of a known state.
    if (problems.length > 0) break;
  }
  assert.equal(failures, [], `every crash converges:\n${failures.join('\n')}`);
  process.stdout.write(`  chaos: ${killed.length} trials converged (${killed.filter((entry) => !entry.includes('finished')).length} killed mid-way), 0 leaks\n`);
});

chaos.run();
