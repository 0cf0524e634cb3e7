import { log as warnings } from '../log.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type FileHandle, open, readFile, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { whenMissing } from '../state/read.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageFile } from '../package-file.js';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from '../native.js';
import { watchDirChanges } from '../state/dir-changes.js';
import { placeMonitor } from '../runtime/monitors.js';
import { processRuns } from '../runtime/proc-stat.js';
import type { RuntimeContext } from '../runtime/context.js';
import { withProjectLock } from '../state/lock.js';
import { readMachineSnapshots } from '../state/snapshots.js';
import { askSupervisor } from './socket.js';
import { HAND_OVER_ENV, HAND_OVER_FD, HAND_OVER_WORD } from './hand-over.js';

// The CLI's side of the supervisor: tell the running one that the project changed, or start one
// (detached, logging to the project's supervisor.log), or ask it to go.

/**
 * How long a command waits for the supervisor it started (or asked to go), in ms: starting node and
 * the first pass over 100 containers take about a second on a loaded host; past this the command goes
 * on rather than hang, and the supervisor is looked for again by the next `ps` or `up`.
 */
const SUPERVISOR_WAIT_MS = 5000;

/** How long one ping may take while waiting, in ms: a live, idle supervisor answers within a few ms. */
const PING_MS = 200;

/** Between two looks while waiting, in ms: short, as the command's return waits on it. */
const RETRY_MS = 20;

/**
 * How long a supervisor that should be there may take to answer, in ms: it answers between the steps
 * of a pass, and a pass under load (100 containers, 2 cores) takes up to about half a second.
 */
const ANSWER_MS = 1000;


/** Node's flags for the supervisor: what it weighs (see where it is spawned). */
const SUPERVISOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--lite-mode'];

/** The CLI the supervisor (and the boot unit) runs: the bundle that `npm run build` makes, else the compiled sources. */
export const cliEntry = () => {
  const bundle = path.join(path.dirname(findPackageFile('package.json', 'reinstall Corral')), 'dist/bin/corral.js');
  return existsSync(bundle) ? bundle : fileURLToPath(new URL('../cli/main.js', import.meta.url));
};

/** A supervisor process as started here, and whether it has exited since. */
interface StartedSupervisor {
  readonly child: ChildProcess;
  readonly exited: () => boolean;
}

/**
 * Starts a detached supervisor process writing to `log`; with `early`, one that waits for the word of
 * this command on a pipe before it supervises (hand-over.ts).
 */
function startSupervisorProcess(context: RuntimeContext, log: FileHandle, how: { early: boolean }): StartedSupervisor {
  // It outlives this command (and starts conmons): nothing this command inherited may go with it.
  native.markInheritedDescriptorsCloseOnExec();
  // The supervisor idles between events; a young generation of 1 MB instead of V8's 16 MB costs it a
  // few more scavenges and keeps it at ~65 MB instead of ~80 MB with 100 containers (bench/run.ts).
  // --lite-mode: no optimising compiler, whose work memory made most of the rest of its peak above an
  // idle Node's: 1 pod 58 MB to 52 MB, 50 pods 69.5 MB to 58 MB (an idle Node process: 40 MB), for
  // the same CPU time while it watches 50 pods (README, Benchmarks).
  // `supervise -p NAME` and nothing else, the project's name last: that is how a supervisor's command
  // line is recognised (startedSupervisorRuns, pgrep, an admin's scripts), early or not. An early one
  // learns that it is early from its environment (hand-over.ts).
  const args = SUPERVISOR_NODE_FLAGS.concat(cliEntry(), 'supervise', '-p', context.project);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: how.early ? ['ignore', log.fd, log.fd, 'pipe'] : ['ignore', log.fd, log.fd],
    env: how.early ? { ...process.env, [HAND_OVER_ENV]: String(HAND_OVER_FD) } : process.env,
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.unref();
  // Neither keeps this command running: when it ends without the word, the pipe closes and the early one goes.
  (child.stdio[HAND_OVER_FD] as Socket | undefined)?.unref();
  return { child, exited: () => exited };
}

/** Records the supervisor's pid and moves it out of this command's cgroup. */
async function recordSupervisor(context: RuntimeContext, pid: number): Promise<void> {
  await writeFile(context.paths.supervisorPid, `${pid}\n`, { mode: 0o600 });
  // Out of this command's cgroup, which its unit's or session's end would kill (runtime/monitors.ts).
  await placeMonitor({ project: context.project, pid, monitor: { kind: 'supervisor' } });
}

/**
 * A supervisor that `up` started before its apply, booting meanwhile; it supervises once given the
 * word (release) and exits when dismissed, or when this command ends without giving it.
 */
export interface EarlySupervisor {
  readonly pid: number | undefined;
  /** Gives it the word; false, and it is dismissed, when it exited or its log is no longer the project's. */
  release(context: RuntimeContext): Promise<StartedSupervisor | undefined>;
  /** Lets it go without the word (nothing once released). */
  dismiss(): Promise<void>;
}

/**
 * What opening the log may fail with before the apply, which then handles it: a full, read-only or
 * foreign state dir (the apply says so, checkWritable), or the project's dir that a `down` racing with
 * this `up` has just removed (the apply makes it again, under the lock; up/up/down races).
 */
const NO_LOG_BEFORE_APPLY = new Set(['ENOENT', 'EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

/**
 * Starts the project's supervisor early, for `up -d` to hand over to once it has applied: undefined
 * when one runs or is starting (up asks that one to reload), or when its log cannot be opened.
 */
export async function startEarlySupervisor(context: RuntimeContext): Promise<EarlySupervisor | undefined> {
  if (native.isLockHeld(context.paths.supervisorLock) || (await startedSupervisorRuns(context))) return undefined;
  const log = await open(context.paths.supervisorLog, 'a', 0o600).catch((error: NodeJS.ErrnoException) => {
    if (NO_LOG_BEFORE_APPLY.has(error.code ?? '')) return undefined;
    throw error;
  });
  if (!log) return undefined;
  let started: StartedSupervisor;
  try {
    started = startSupervisorProcess(context, log, { early: true });
  } catch (error) {
    await log.close();
    throw error;
  }
  let settled = false;
  const pipe = started.child.stdio[HAND_OVER_FD] as Socket;
  // The early one closes its end once it has read the word (or went): a reset of this end then is its
  // part of the hand-over, not a failure; unheard, it would end this command.
  pipe.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') warnings.warn(`the pipe to the early supervisor ${started.child.pid}: ${error.message}`);
  });
  const dismiss = async () => {
    if (settled) return;
    settled = true;
    pipe.destroy();
    // Without the word it has done nothing but start: it goes at once rather than when it reads the pipe's end.
    started.child.kill('SIGKILL');
    await log.close();
  };
  return {
    pid: started.child.pid,
    release: async (forContext) => {
      // A `down` that ran since removed the log this one writes to: a fresh one gets a fresh log.
      if (settled || started.exited() || !(await isStillTheFile(log, forContext.paths.supervisorLog))) {
        await dismiss();
        return undefined;
      }
      settled = true;
      await new Promise<void>((resolve) => pipe.end(HAND_OVER_WORD, resolve));
      await log.close();
      if (started.child.pid !== undefined) await recordSupervisor(forContext, started.child.pid);
      return started;
    },
    dismiss,
  };
}

/** Whether the open file is still the one at `file` (not removed, nor replaced). */
async function isStillTheFile(handle: FileHandle, file: string): Promise<boolean> {
  const [opened, there] = await Promise.all([handle.stat(), stat(file).catch(whenMissing(undefined))]);
  return there !== undefined && there.ino === opened.ino && there.dev === opened.dev;
}

/**
 * Starts the supervisor process under the project lock (or releases the early one), unless the
 * project is no longer applied: a `down` that ran since this command applied it must not be followed
 * by a supervisor (nor by a log file in the state dir it emptied). Undefined when the project is gone.
 */
async function spawnUnlessGone(context: RuntimeContext, early: EarlySupervisor | undefined): Promise<StartedSupervisor | undefined> {
  const spawned = withProjectLock(context.paths.lock, async () => {
    if (!existsSync(context.paths.applied) || (await startedSupervisorRuns(context))) return undefined;
    const released = await early?.release(context);
    if (released) return released;
    const log = await open(context.paths.supervisorLog, 'a', 0o600);
    try {
      const started = startSupervisorProcess(context, log, { early: false });
      if (started.child.pid !== undefined) await recordSupervisor(context, started.child.pid);
      return started;
    } finally {
      await log.close();
    }
  }, undefined, { createDir: false, purpose: 'start the supervisor' });
  // No lock file: `down` removed the run dir.
  return spawned.catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' && error.path === context.paths.lock) return undefined;
    throw error;
  });
}

/**
 * Whether the supervisor a command started for this project still runs, answering or not: under
 * emulation or heavy load node takes longer to start than a command waits for it, and a `ps` right
 * after the `up` would otherwise start a second one (which would only find the lock taken and exit).
 * The pid is checked against the process's command line, as pids are reused.
 */
async function startedSupervisorRuns(context: RuntimeContext): Promise<boolean> {
  const pid = Number.parseInt(await readFile(context.paths.supervisorPid, 'utf8').catch(whenMissing('')), 10);
  if (!(pid > 0) || !processRuns(pid)) return false;
  const words = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(whenMissing('', ['ESRCH']))).split('\0').filter(Boolean);
  return words.includes('supervise') && words.at(-1) === context.project;
}

/**
 * Starts a detached supervisor for the project and waits (bounded) until it answers or exits, so that
 * no supervisor is still starting when the command returns (a `down` right after could miss it).
 */
export async function spawnSupervisor(context: RuntimeContext, timeoutMs = SUPERVISOR_WAIT_MS, early?: EarlySupervisor): Promise<void> {
  // A supervisor that holds its lock lives, however slow it is to answer on a loaded host: a second
  // one would only exit busy (or, on a read-only state dir, fail the command opening its log).
  if (native.isLockHeld(context.paths.supervisorLock)) return;
  const child = await spawnUnlessGone(context, early);
  if (!child) return;
  // Pinged again as soon as something appears beside its socket (the socket itself), not a period later.
  const changes = watchDirChanges(path.dirname(context.paths.supervisorSocket));
  try {
    const deadline = Date.now() + timeoutMs;
    while (!child.exited() && Date.now() < deadline) {
      if (await askSupervisor(context.paths.supervisorSocket, { op: 'ping' }, { timeoutMs: PING_MS })) return;
      await changes.next(RETRY_MS);
    }
  } finally {
    changes.close();
  }
}

/**
 * Makes the live supervisor re-read the applied project, or starts one when none answers: the early
 * one when `up` started it (the caller dismisses it when it was not needed).
 */
export async function notifySupervisor(context: RuntimeContext, options: { early?: EarlySupervisor } = {}): Promise<void> {
  const answer = await askSupervisor(context.paths.supervisorSocket, { op: 'reload' });
  if (!answer?.ok) await spawnSupervisor(context, SUPERVISOR_WAIT_MS, options.early);
}

/** Starts a supervisor when the project is applied and none answers (it died, or the host rebooted). */
export async function ensureSupervisor(context: RuntimeContext): Promise<void> {
  if (!existsSync(context.paths.applied) || !existsSync(context.paths.run)) return;
  if (!(await askSupervisor(context.paths.supervisorSocket, { op: 'ping' }, { timeoutMs: ANSWER_MS }))) await spawnSupervisor(context);
}


/**
 * Asks the supervisor to exit and waits (bounded) until it has: its process gone when it runs
 * apart, its socket closed when it runs inside this process. False when it would not go.
 */
export async function shutdownSupervisor(context: RuntimeContext, timeoutMs = SUPERVISOR_WAIT_MS): Promise<boolean> {
  const answer = await askSupervisor(context.paths.supervisorSocket, { op: 'shutdown' }, { timeoutMs: ANSWER_MS });
  if (!answer) return true;
  const separate = answer.pid !== undefined && answer.pid !== process.pid;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const gone = separate ? !processRuns(answer.pid!) : !(await askSupervisor(context.paths.supervisorSocket, { op: 'ping' }, { timeoutMs: PING_MS }));
    if (gone) return true;
    await sleep(RETRY_MS);
  }
  return false;
}

/** Makes sure no supervisor of the project runs: asks it to go, and kills it if it would not. */
export async function stopSupervisor(context: RuntimeContext): Promise<void> {
  if (await shutdownSupervisor(context)) return;
  const snapshots = await readMachineSnapshots(context.paths.machines);
  if (!snapshots?.pid || !processRuns(snapshots.pid)) return;
  try {
    process.kill(snapshots.pid, 'SIGKILL');
  } catch (error) {
    // It went by itself since it was looked at.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
