import { existsSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.js';
import { readRuncStateFile, readRuncStateFiles, type RuncState } from './runc-state-files.js';
import { runToEnd } from './run-to-end.js';

export type { RuncState };

// A thin driver for the OCI runtime's command line. Every call names the runtime root explicitly so
// that Corral's containers never mix with anyone else's, and failures keep the runtime's own message.

export interface RuncOptions {
  /** The runtime binary (runc, or crun on pure cgroup v2 hosts). */
  readonly binary: string;
  /** --root: where the runtime keeps its per-container state. */
  readonly root: string;
}

// The runtime's own calls (start, kill, delete, state...) run with Node's child_process (run-to-end.ts):
// loading execa (~120 files) was ~20 ms of a 1-pod `down`. Interleaved output is asked for only where
// it is shown (exec probes, which keep execa and its result): merging the streams costs every one of
// the hundreds of runtime calls of a 50-pod up or down. `ps`, `ls` and `logs` read runc's state files
// and never start the runtime.
async function runc(options: RuncOptions, args: readonly string[], timeoutMs?: number) {
  const started = performance.now();
  const result = await runToEnd(options.binary, ['--root', options.root, ...args], { timeoutMs });
  logCall(options, args, started, result);
  return result;
}

/** `runc exec`, with stdout and stderr interleaved in `all` (execa's result, which the probes read). */
async function runcInterleaved(options: RuncOptions, args: readonly string[], timeoutMs?: number) {
  const { execa } = await import('execa');
  const started = performance.now();
  const result = await execa(options.binary, ['--root', options.root, ...args], { reject: false, stdin: 'ignore', timeout: timeoutMs, all: true });
  logCall(options, args, started, result);
  return result;
}

function logCall(options: RuncOptions, args: readonly string[], started: number, result: { exitCode?: number; stderr?: unknown }): void {
  log.debug(`${options.binary} ${args.join(' ')}: exit ${result.exitCode} in ${(performance.now() - started).toFixed(1)} ms${result.stderr ? `: ${String(result.stderr).trim()}` : ''}`);
}

function runtimeFailure(args: readonly string[], result: { stderr?: unknown; stdout?: unknown; exitCode?: number }): Error {
  const said = String(result.stderr || result.stdout || '').trim();
  return new Error(`${args.join(' ')}: ${said || `exit code ${result.exitCode}`}`);
}

/** Starts the user process of a created container. */
export async function startContainer(options: RuncOptions, id: string): Promise<void> {
  const result = await runc(options, ['start', id]);
  if (result.exitCode !== 0) throw runtimeFailure(['start', id], result);
}

/** Sends a signal to the container's init process (or to all its processes with `all`). Not running is not an error. */
export async function killContainer(options: RuncOptions, id: string, signal: string, all = false): Promise<void> {
  const args = ['kill', ...(all ? ['--all'] : []), id, signal];
  const result = await runc(options, args);
  if (result.exitCode !== 0 && !/not running|does not exist|process already finished/i.test(String(result.stderr))) {
    throw runtimeFailure(args, result);
  }
}

/** Deletes the container's runtime state (and with `force`, kills what still runs). A missing container is not an error. */
export async function deleteContainer(options: RuncOptions, id: string, force = true): Promise<void> {
  const args = ['delete', ...(force ? ['--force'] : []), id];
  const result = await runc(options, args);
  if (result.exitCode !== 0 && !/does not exist|not exist/i.test(String(result.stderr))) {
    throw runtimeFailure(args, result);
  }
}

/** Freezes every process of the container (`runc pause`: the freezer, v1 or v2). */
export async function pauseContainer(options: RuncOptions, id: string): Promise<void> {
  const args = ['pause', id];
  const result = await runc(options, args);
  if (result.exitCode !== 0) throw runtimeFailure(args, result);
}

/** Thaws a paused container (`runc resume`). */
export async function resumeContainer(options: RuncOptions, id: string): Promise<void> {
  const args = ['resume', id];
  const result = await runc(options, args);
  if (result.exitCode !== 0) throw runtimeFailure(args, result);
}

export interface CheckpointRun {
  /** Where CRIU writes its images (and, as its work dir, dump.log). */
  readonly imagePath: string;
  /** Dump and let the container run on; without it runc stops it once dumped. */
  readonly leaveRunning: boolean;
  /** CRIU's options that the restore must be given as well (`--tcp-established`, `--file-locks`). */
  readonly criuOptions: readonly string[];
  readonly timeoutMs: number;
}

/** Dumps the container's processes with CRIU (`runc checkpoint`); CRIU's log stays in the image dir. */
export async function checkpointContainer(options: RuncOptions, id: string, run: CheckpointRun): Promise<void> {
  const args = ['checkpoint', '--image-path', run.imagePath, '--work-path', run.imagePath, ...(run.leaveRunning ? ['--leave-running'] : []), ...run.criuOptions, id];
  const result = await runc(options, args, run.timeoutMs);
  if (result.timedOut) throw new Error(`${args.join(' ')}: no answer in ${run.timeoutMs / 1000} s (CRIU's log: ${run.imagePath}/dump.log)`);
  if (result.exitCode !== 0) throw runtimeFailure(args, result);
}

/** Whether runc's own state files can be read instead of asking it (runc-state-files.ts knows only runc's format). */
const readsStateFiles = (options: RuncOptions) => path.basename(options.binary) === 'runc';

/** The state of one container, read from runc's state file where it can be (no runc process), else from runc. */
export async function containerStateQuickly(options: RuncOptions, id: string): Promise<RuncState | undefined> {
  if (readsStateFiles(options)) {
    const state = readRuncStateFile(options.root, id);
    if (state !== undefined) return state ?? undefined;
  }
  return containerState(options, id);
}

/** The state of one container, or undefined when the runtime does not know it. */
export async function containerState(options: RuncOptions, id: string): Promise<RuncState | undefined> {
  const result = await runc(options, ['state', id]);
  if (result.exitCode !== 0) return undefined;
  return JSON.parse(String(result.stdout)) as RuncState;
}

/**
 * Every container under this runtime root. A root that does not exist yet holds none (and is not created).
 * With runc, read from its state files (`runc-state-files.ts`); `runc list` when they cannot be read so.
 */
export async function listContainers(options: RuncOptions): Promise<RuncState[]> {
  if (!existsSync(options.root)) return [];
  if (readsStateFiles(options)) {
    const states = readRuncStateFiles(options.root);
    if (states) return states;
  }
  return listWithRuntime(options);
}

/** `runc list`, the runtime's own answer. */
export async function listWithRuntime(options: RuncOptions): Promise<RuncState[]> {
  const result = await runc(options, ['list', '--format', 'json']);
  if (result.exitCode !== 0) {
    if (/no such file|not exist/i.test(String(result.stderr))) return [];
    throw runtimeFailure(['list'], result);
  }
  const parsed = JSON.parse(String(result.stdout) || 'null') as RuncState[] | null;
  return parsed ?? [];
}

/** Runs a command inside a running container and returns its output (`all`: stdout and stderr interleaved). */
export async function execInContainer(options: RuncOptions, id: string, argv: readonly string[], timeoutMs?: number) {
  return execWithFlags(options, id, [], argv, timeoutMs);
}

/** execInContainer with runc exec's own flags (--user, --cwd, --env, --cap) before the id. */
export async function execWithFlags(options: RuncOptions, id: string, flags: readonly string[], argv: readonly string[], timeoutMs?: number) {
  return runcInterleaved(options, ['exec', ...flags, id, ...argv], timeoutMs);
}
