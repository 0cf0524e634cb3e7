import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';
import { mountPointsUnder } from '../../src/runtime/mounts.js';

// Which project a command acts on, with real containers: a compose project found from a
// subdirectory and named after its directory as compose names it; `exec` of a compose service by its
// name; commands that change things refusing to guess; and `down` of one project leaving another's
// files, mounts and containers alone.

interface Context {
  sandbox: Sandbox;
  /** A compose project in a directory named like `T123.Sel.AbC`: compose names it `t123selabc`. */
  composeDir: string;
  composeProject: string;
  /** A corral.yaml project beside it. */
  otherDir: string;
  otherProject: string;
  /** A directory with no project file above it. */
  elsewhere: string;
}

const selection = suite<Context>('project selection as compose does it, with real containers');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

interface Row { pod: string; container: string; state: string; pid: number | null }

async function psRows(sandbox: Sandbox, project: string): Promise<Row[]> {
  const result = await corral(sandbox, ['-p', project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps -p ${project} fails: ${result.stderr}`);
  return JSON.parse(result.stdout) as Row[];
}

/**
 * Every path under `dir`, relative, sorted: what `down` of another project must leave as it is. The
 * other project's supervisor may be writing its log or a snapshot (a `.tmp` sibling) at that moment.
 */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).filter((entry) => entry !== 'supervisor.log' && !entry.endsWith('.tmp')).sort();
}

/** What must not change of a running container: its place, state and process. */
const processes = (rows: readonly Row[]) => rows.map((row) => ({ resource: `${row.pod}/${row.container}`, state: row.state, pid: row.pid }));

selection.before(async (context) => {
  context.sandbox = await createSandbox('select');
  const { work, env } = context.sandbox;
  const label = `T${process.pid}`;
  context.composeDir = path.join(work, `${label}.Sel.AbC`);
  context.composeProject = `t${process.pid}selabc`;
  context.otherDir = path.join(work, 'other');
  context.otherProject = context.sandbox.projectName('other');
  context.elsewhere = path.join(work, 'elsewhere');
  for (const dir of [path.join(context.composeDir, 'src/deep'), context.otherDir, context.elsewhere]) await mkdir(dir, { recursive: true });
  const image = await buildBusyboxImage(env.CORRAL_ROOTFS!, work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  await writeFile(path.join(context.composeDir, 'compose.yaml'), `services:\n  web:\n    image: "oci:${image.layout}:${image.tag}"\n    stop_signal: SIGKILL\n    expose: ["80"]\n`);
  await writeFile(path.join(context.otherDir, 'corral.yaml'), `name: ${context.otherProject}\npods:\n  web:\n    containers:\n      app:\n        rootfs: ${env.CORRAL_ROOTFS}\n        command: ["sh", "-c", "${LOOP}"]\n        stop_signal: SIGKILL\n`);
});

selection.after((context) => downAndAssertNothingLeaks(context.sandbox, context.composeProject, context.otherProject));

selection('up from a subdirectory finds compose.yaml above it, and names the project after its directory as compose does', async (context) => {
  const up = await corral(context.sandbox, ['up', '-d'], { cwd: path.join(context.composeDir, 'src/deep') });
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, /warning: .*compose\.yaml:\d+:\d+: services\.web\.expose/, 'up, which acts on the file, names what it leaves out');
  const rows = await psRows(context.sandbox, context.composeProject);
  assert.equal(rows.map((row) => [`${row.pod}/${row.container}`, row.state]), [['web/web', 'running']], `project ${context.composeProject}, named after ${path.basename(context.composeDir)}`);
});

selection('exec of a compose service by its name alone (a pod of one container)', async (context) => {
  const exec = await corral(context.sandbox, ['exec', '-T', 'web', '--', 'sh', '-c', 'echo inside-$((6*7))'], { cwd: path.join(context.composeDir, 'src') });
  assert.is(exec.exitCode, 0, `exec fails: ${exec.stderr}`);
  assert.match(exec.stdout, 'inside-42', 'ran in the container');
  assert.not.match(exec.stderr, 'warning', 'a command that reads the file only for the project\'s name does not repeat its warnings');
});

selection('commands that change things refuse to guess the project outside its directory; ps may', async (context) => {
  for (const command of [['down'], ['stop'], ['restart'], ['start'], ['exec', 'web', '--', 'true']]) {
    const refused = await corral(context.sandbox, command, { cwd: context.elsewhere });
    assert.is(refused.exitCode, 1, `${command[0]} refuses, as a usage error: ${refused.stderr}`);
    assert.match(refused.stderr, `running: ${context.composeProject}`, `${command[0]} lists the running projects`);
    assert.match(refused.stderr, `corral -p NAME ${command[0]}`, `${command[0]} says how to name one`);
  }
  assert.equal((await psRows(context.sandbox, context.composeProject)).map((row) => row.state), ['running'], 'the project still runs');
  const ps = await corral(context.sandbox, ['ps'], { cwd: context.elsewhere });
  assert.is(ps.exitCode, 0, `ps takes the one running project: ${ps.stderr}`);
  assert.match(ps.stdout, /web\s+web\s+running/, 'and lists it');
});

selection('down of one project leaves another project\'s run dir, state dir, mounts and containers alone', async (context) => {
  const { sandbox } = context;
  const up = await corral(sandbox, ['up', '-d'], { cwd: context.otherDir });
  assert.is(up.exitCode, 0, `up of the other project fails: ${up.stderr}`);
  const otherRun = path.join(sandbox.run, context.otherProject);
  const otherState = path.join(sandbox.state, 'projects', context.otherProject);
  // The files its supervisor makes as it starts (socket, lock, first snapshot) are part of the
  // listing: on a loaded host it is still starting when `up -d` returns, so the listing is taken
  // once it is there (in CI they appeared between the two listings).
  await eventually(async () => (existsSync(path.join(otherRun, 'supervisor.sock')) && existsSync(path.join(otherRun, 'supervisor.lock')) && existsSync(path.join(otherState, 'machines.json')) ? true : undefined),
    'the other project\'s supervisor up, with its first snapshot', 60_000);
  const before = { run: await listing(otherRun), state: await listing(otherState), mounts: await mountPointsUnder(otherRun), rows: await psRows(sandbox, context.otherProject) };
  assert.ok(before.rows[0]?.pid, 'the other project runs');

  // Names that are paths (`-p .`, `-p other/pods`) once reached every project's mounts, or another's dirs.
  for (const name of ['.', '..', `${context.otherProject}/pods`, '../x']) {
    const refused = await corral(sandbox, ['-p', name, 'down'], { cwd: context.elsewhere });
    assert.is(refused.exitCode, 1, `-p ${name} is refused: ${refused.stderr}`);
    assert.match(refused.stderr, 'invalid project name', `-p ${name}: says why`);
  }
  const down = await corral(sandbox, ['down'], { cwd: path.join(context.composeDir, 'src') });
  assert.is(down.exitCode, 0, `down fails: ${down.stderr}`);
  assert.equal(await psRows(sandbox, context.composeProject), [], 'the compose project is down');

  assert.equal(await listing(otherRun), before.run, 'the other project\'s run dir is as it was');
  assert.equal(await listing(otherState), before.state, 'its state dir too');
  assert.equal(await mountPointsUnder(otherRun), before.mounts, 'and its mounts');
  assert.equal(processes(await psRows(sandbox, context.otherProject)), processes(before.rows), 'its container runs on, the same process');
});

selection('COMPOSE_PROJECT_NAME names the project for down anywhere', async (context) => {
  const down = await corral(context.sandbox, ['down'], { cwd: context.elsewhere, env: { COMPOSE_PROJECT_NAME: context.otherProject } });
  assert.is(down.exitCode, 0, `down fails: ${down.stderr}`);
  assert.equal(await psRows(context.sandbox, context.otherProject), [], 'the named project is down');
});

selection.run();
