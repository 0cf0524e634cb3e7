import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, freePort, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { execa } from 'execa';
import { supervisorPid } from '../chaos/observe.js';
import { StateReadError } from '../../src/state/errors.js';
import { isRecord, namesInDir, pathExists, readStateJson } from '../../src/state/read.js';

// A damaged state file is an error that names it and says how to fix it, never "nothing recorded":
// read as absent, a corrupt applied.json or attachment record once meant recreating running
// containers or leaking what the record named. Each of Corral's records is damaged in turn, cut
// short and replaced by a directory (unreadable: EISDIR), under a running project; the command that
// reads it fails with the file's path and a fix, the container keeps its pid, and at the end a
// `down` of a project whose applied.json is corrupt still leaves nothing behind.

interface Context {
  sandbox: Sandbox;
  project: string;
  file: string;
  /** The container's pid after the first up: it must never change. */
  pid: number;
}

const readers = suite('state readers: only a missing file is "nothing recorded"');

readers('a missing file is undefined, a cut-short one names where JSON ends, a dir its errno, a wrong shape what was expected', async () => {
  const dir = await mkdtemp('/tmp/corral-test-readers-');
  try {
    const file = path.join(dir, 'record.json');
    const reading = { fix: 'remove it', isValid: isRecord, shape: 'a record' };
    assert.is(await readStateJson(file, reading), undefined, 'no file: nothing recorded');
    await writeFile(file, '{\n  "a": 1,\n  "b": [1, 2');
    const cut = await readStateJson(file, reading).catch((error: unknown) => error);
    assert.instance(cut, StateReadError, 'a cut-short file is an error');
    assert.match((cut as StateReadError).message, `${file} is corrupt: not valid JSON at the end`, 'it names the file and where the JSON stops');
    assert.is((cut as StateReadError).toString().endsWith('(remove it)'), true, 'the fix is part of the line');
    await writeFile(file, '{\n  "a": 1,\n  x\n}');
    assert.match(String(await readStateJson(file, reading).catch((error: unknown) => error)), 'not valid JSON at line 3 column 3', 'a bad token is placed by line and column');
    await writeFile(file, '[1, 2]');
    const shape = await readStateJson(file, reading).catch((error: unknown) => error) as StateReadError;
    assert.is(shape.code, 'EINVAL', 'valid JSON of the wrong shape is corrupt too');
    assert.match(shape.message, 'does not hold a record', 'it says what was expected');
    await rm(file);
    await mkdir(file);
    const unreadable = await readStateJson(file, reading).catch((error: unknown) => error) as StateReadError;
    assert.is(unreadable.code, 'EISDIR', 'an unreadable file keeps its errno');
    assert.match(unreadable.message, `cannot read ${file}`, 'and names the file');
    assert.instance(unreadable.cause, Error, 'the cause is kept');
    assert.equal(await namesInDir(path.join(dir, 'none')), [], 'a missing dir has no names');
    await writeFile(path.join(dir, 'plain'), '');
    const listed = await namesInDir(path.join(dir, 'plain')).catch((error: NodeJS.ErrnoException) => error.code);
    assert.is(listed, 'ENOTDIR', 'a file listed as a dir is an error, not an empty dir');
    assert.is(await pathExists(path.join(dir, 'plain', 'below')), false, 'a path through a file does not exist');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

readers.run();

const corrupt = suite<Context>('corrupt state: named with a fix, nothing recreated, nothing leaked');

const projectDir = (context: Context) => path.join(context.sandbox.state, 'projects', context.project);
const runDir = (context: Context) => path.join(context.sandbox.run, context.project);

corrupt.before(async (context) => {
  Object.assign(context, await createProjectSandbox('corrupt'));
  const port = await freePort();
  await writeFile(context.file, `
pods:
  web:
    ports: ["127.0.0.1:${port}:80"]
    containers:
      main:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS!}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        restart: always
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `the first up fails: ${up.stdout}\n${up.stderr}`);
  context.pid = await runningPid(context);
  assert.ok(context.pid > 0, 'web/main runs');
});

corrupt.after(async (context) => {
  await corral(context.sandbox, ['-p', context.project, 'down']);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `the suite leaves nothing behind, but left: ${leaks.join('; ')}`);
});

/** The two damages: the file cut short mid-JSON, and a directory where the file should be. */
const DAMAGES = [
  { name: 'cut short', apply: async (file: string, whole: string) => writeFile(file, whole.slice(0, Math.max(1, Math.floor(whole.length / 2)))), says: 'not valid JSON at' },
  { name: 'a directory', apply: async (file: string) => { await rm(file, { force: true }); await mkdir(file); }, says: '(EISDIR)' },
] as const;

/** Damages `file` (`whole` is what it held), runs `check`, then puts back what it held (or nothing). */
async function withDamaged(file: string, damage: typeof DAMAGES[number], check: () => Promise<void>): Promise<void> {
  const whole = existsSync(file) ? await readFile(file, 'utf8') : undefined;
  await damage.apply(file, whole ?? '["web/main"]\n');
  try {
    await check();
  } finally {
    await rm(file, { recursive: true, force: true });
    if (whole !== undefined) await writeFile(file, whole, { mode: 0o600 });
  }
}

/** Runs `args`, which must fail naming `file`, the damage and `fix`; the container keeps its pid. */
async function assertFailsNaming(context: Context, args: readonly string[], file: string, damage: typeof DAMAGES[number], fix: string): Promise<void> {
  const result = await corral(context.sandbox, ['-f', context.file, '-p', context.project, ...args]);
  const label = `${args.join(' ')} with ${path.basename(file)} ${damage.name}`;
  assert.is.not(result.exitCode, 0, `${label}: fails (${result.stdout})`);
  assert.match(result.stderr, file, `${label}: names the file: ${result.stderr}`);
  assert.match(result.stderr, damage.says, `${label}: says what is wrong: ${result.stderr}`);
  assert.match(result.stderr, fix, `${label}: says how to fix it: ${result.stderr}`);
  assert.is(await runningPid(context), context.pid, `${label}: web/main was not recreated or restarted`);
}

for (const damage of DAMAGES) {
  corrupt(`applied.json ${damage.name}: up fails, names it and says to remove it and up again`, async (context) => {
    const file = path.join(projectDir(context), 'applied.json');
    await withDamaged(file, damage, () => assertFailsNaming(context, ['up', '-d'], file, damage, 'run `corral up` for the whole project'));
  });

  corrupt(`stopped.json ${damage.name}: up and stop fail, name it and say to stop again`, async (context) => {
    const file = path.join(projectDir(context), 'stopped.json');
    await withDamaged(file, damage, async () => {
      await assertFailsNaming(context, ['up', '-d'], file, damage, '`corral stop POD/CONTAINER` again');
      await assertFailsNaming(context, ['stop', 'web/main'], file, damage, '`corral stop POD/CONTAINER` again');
    });
  });

  corrupt(`the pod's network attachment ${damage.name}: up fails, names it and says down then up`, async (context) => {
    const file = path.join(runDir(context), 'pods', 'web', 'network.json');
    assert.ok(existsSync(file), 'web has an attachment record');
    await withDamaged(file, damage, () => assertFailsNaming(context, ['up', '-d'], file, damage, 'run `corral down`'));
  });

  corrupt(`machines.json ${damage.name}, no supervisor: ps fails, names it and says the supervisor writes it again`, async (context) => {
    const file = path.join(projectDir(context), 'machines.json');
    const pid = await supervisorPid(context);
    process.kill(pid, 'SIGKILL');
    await waitUntilGone(pid);
    await withDamaged(file, damage, () => assertFailsNaming(context, ['ps'], file, damage, 'the supervisor writes it again'));
    // Repaired, ps works and brings a supervisor back.
    const ps = await corral(context.sandbox, ['-p', context.project, 'ps']);
    assert.is(ps.exitCode, 0, `ps works again once repaired: ${ps.stderr}`);
  });

  corrupt(`a gitops state.json ${damage.name}: gitops status fails, names it and says what removing it costs`, async (context) => {
    const file = path.join(context.sandbox.state, 'gitops', '0123456789abcdef', 'state.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify({ repo: '/srv/repo', branch: 'main', projects: { 'corral.yaml': context.project } }, null, 2)}\n`);
    await withDamaged(file, damage, () => assertFailsNaming(context, ['gitops', 'status'], file, damage, 'the next pass applies the branch head again'));
    await rm(path.join(context.sandbox.state, 'gitops'), { recursive: true, force: true });
  });
}

corrupt('a running container\'s config.json cut short: up keeps the container (runc holds its hash), stop still stops it', async (context) => {
  const file = path.join(runDir(context), 'containers', `${context.project}.web.main`, 'config.json');
  await withDamaged(file, DAMAGES[0], async () => {
    const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
    assert.is(up.exitCode, 0, `up works from runc's state: ${up.stderr}`);
    assert.is(await runningPid(context), context.pid, 'web/main was not recreated');
    const stop = await corral(context.sandbox, ['-p', context.project, 'stop', 'web/main']);
    assert.is(stop.exitCode, 0, `stop works with the stop signal runc recorded: ${stop.stderr}`);
    assert.match(stop.stderr, `${file} is corrupt`, 'and says the bundle is damaged');
  });
  // What stop stopped, up starts again; the pid changes from here on.
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up starts it again: ${up.stderr}`);
  context.pid = await runningPid(context);
  assert.ok(context.pid > 0, 'web/main runs again');
});

corrupt('down works from observation with every state file damaged at once, and leaves nothing', async (context) => {
  // What each error's fix says (`corral down`) must work with the damage still in place.
  await writeFile(path.join(projectDir(context), 'applied.json'), '{"appliedAt": "2026-');
  for (const name of ['stopped.json', 'machines.json']) {
    await rm(path.join(projectDir(context), name), { force: true });
    await mkdir(path.join(projectDir(context), name));
  }
  await writeFile(path.join(runDir(context), 'pods', 'web', 'network.json'), '{"attached": tr');
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `down works: ${down.stderr}`);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  assert.equal(leaks, [], `down left: ${leaks.join('; ')}`);
});

/** The pid of web/main as runc reports it (ps may be what fails), 0 when it does not run. */
async function runningPid(context: Context): Promise<number> {
  const state = await execa('runc', ['--root', path.join(runDir(context), 'runc'), 'state', `${context.project}.web.main`], { reject: false });
  const parsed = state.exitCode === 0 ? JSON.parse(String(state.stdout)) as { pid: number; status: string } : undefined;
  return parsed?.status === 'running' ? parsed.pid : 0;
}

/** Waits (bounded) until the process is gone. */
async function waitUntilGone(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 100 && existsSync(`/proc/${pid}`); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
}

corrupt.run();
