import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as native from '../../src/native.js';
import type { RuntimeContext } from '../../src/runtime/context.js';
import { projectCgroup, projectPaths } from '../../src/state/paths.js';
import { spawnSupervisor, startEarlySupervisor, type EarlySupervisor } from '../../src/supervisor/launch.js';
import { eventually } from '../helpers/sandbox.js';

// A supervisor that is still starting (node not up yet: no lock taken, no socket) counts as there:
// in the cgroup v2 guest, under emulation, a `ps` right after `up -d` started a second supervisor
// while the first was still loading. The stand-ins here are processes whose command line reads as
// a supervisor's (`... supervise -p PROJECT`) and which never answer.

interface Context { root: string; project: string; context: RuntimeContext; standIn?: ChildProcess; spawned?: number; env: Record<string, string | undefined> }

const launch = suite<Context>('supervisor: one is started only when none runs, starting or not');

launch.before.each(async (context) => {
  context.root = await mkdtemp('/tmp/corral-test-launch-');
  context.project = `launch${process.pid}`;
  const dirs = { run: `${context.root}/run`, state: `${context.root}/state` };
  const paths = projectPaths(dirs, context.project);
  await mkdir(paths.run, { recursive: true });
  await mkdir(paths.state, { recursive: true });
  await writeFile(paths.applied, '{}');
  context.context = { project: context.project, paths } as RuntimeContext;
  // A supervisor that does start must use these dirs, never the host's.
  context.env = { CORRAL_RUN_DIR: process.env.CORRAL_RUN_DIR, CORRAL_STATE_DIR: process.env.CORRAL_STATE_DIR };
  process.env.CORRAL_RUN_DIR = dirs.run;
  process.env.CORRAL_STATE_DIR = dirs.state;
});

launch.after.each(async (context) => {
  for (const [name, value] of Object.entries(context.env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  context.standIn?.kill('SIGKILL');
  if (context.spawned) {
    try {
      process.kill(context.spawned, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    const pid = context.spawned;
    await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true), `supervisor ${pid} gone`);
  }
  await native.killCgroup(projectCgroup(context.project));
  await native.removeCgroup(projectCgroup(context.project));
  await rm(context.root, { recursive: true, force: true });
});

/** A process that never answers, whose command line ends `supervise -p PROJECT`. */
function standIn(project: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'supervise', '-p', project], { stdio: 'ignore' });
}

launch('a supervisor still starting is not joined by a second one', async (context) => {
  context.standIn = standIn(context.project);
  await writeFile(context.context.paths.supervisorPid, `${context.standIn.pid}\n`);
  await spawnSupervisor(context.context, 300);
  assert.is((await readFile(context.context.paths.supervisorPid, 'utf8')).trim(), String(context.standIn.pid), 'no other supervisor was recorded');
  assert.not.ok(existsSync(context.context.paths.supervisorLog), 'none was started (it would have opened its log)');
});

launch('a recorded pid that is another project\'s supervisor does not count: one is started', async (context) => {
  context.standIn = standIn('another');
  await writeFile(context.context.paths.supervisorPid, `${context.standIn.pid}\n`);
  await spawnSupervisor(context.context, 300);
  const recorded = Number((await readFile(context.context.paths.supervisorPid, 'utf8')).trim());
  context.spawned = recorded;
  assert.is.not(recorded, context.standIn.pid, 'a supervisor of its own was started and recorded');
  assert.ok(existsSync(context.context.paths.supervisorLog), 'it logs to the project\'s supervisor log');
});

/** The early supervisor `up -d` starts before its apply (it waits for the word on a pipe). */
async function earlySupervisor(context: Context): Promise<EarlySupervisor & { pid: number }> {
  const early = await startEarlySupervisor(context.context);
  assert.ok(early?.pid, 'an early supervisor was started: none runs');
  const cmdline = (await readFile(`/proc/${early.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  assert.equal(cmdline.slice(-3), ['supervise', '-p', context.context.project], `its command line is a supervisor's, as pgrep and scripts know it: ${cmdline.join(' ')}`);
  const environment = (await readFile(`/proc/${early.pid}/environ`, 'utf8')).split('\0');
  assert.ok(environment.includes('CORRAL_HAND_OVER_FD=3'), 'it waits for the word: its environment says so');
  return early as EarlySupervisor & { pid: number };
}

async function assertExits(pid: number, why: string): Promise<void> {
  await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true), `early supervisor ${pid} exits: ${why}`);
}

launch('the early supervisor is given the word after the apply: it is the one recorded, no other starts', async (context) => {
  const early = await earlySupervisor(context);
  context.spawned = early.pid;
  await spawnSupervisor(context.context, 300, early);
  await early.dismiss();
  assert.is((await readFile(context.context.paths.supervisorPid, 'utf8')).trim(), String(early.pid), 'the early one was recorded');
});

launch('the early supervisor is let go when another one was recorded meanwhile: it exits without the word', async (context) => {
  const early = await earlySupervisor(context);
  context.standIn = standIn(context.project);
  await writeFile(context.context.paths.supervisorPid, `${context.standIn.pid}\n`);
  await spawnSupervisor(context.context, 300, early);
  await early.dismiss();
  assert.is((await readFile(context.context.paths.supervisorPid, 'utf8')).trim(), String(context.standIn.pid), 'the other one stays recorded');
  await assertExits(early.pid, 'another supervisor was there');
});

launch('the early supervisor whose log a down removed meanwhile is let go: a fresh one starts', async (context) => {
  const early = await earlySupervisor(context);
  await rm(context.context.paths.supervisorLog);
  await spawnSupervisor(context.context, 300, early);
  await early.dismiss();
  const recorded = Number((await readFile(context.context.paths.supervisorPid, 'utf8')).trim());
  context.spawned = recorded;
  assert.is.not(recorded, early.pid, 'a fresh supervisor was recorded');
  assert.ok(existsSync(context.context.paths.supervisorLog), 'with a log file of its own');
  await assertExits(early.pid, 'its log was gone');
});

launch('the early supervisor dismissed after a failed apply exits and records nothing', async (context) => {
  const early = await earlySupervisor(context);
  await early.dismiss();
  await assertExits(early.pid, 'dismissed');
  assert.not.ok(existsSync(context.context.paths.supervisorPid), 'no supervisor was recorded');
  assert.not.ok(native.isLockHeld(context.context.paths.supervisorLock), 'nor took the supervisor lock');
});

launch.run();
