import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from './atomic.js';

// What the supervisor knows that the runtime cannot tell: restarts, the backoff, health. Written
// atomically on every change, read by `ps` and by the next supervisor when this one dies.

export interface ContainerSnapshot {
  /** The machine's state: running, backoff, exited, restarting, ... */
  readonly state: string;
  readonly restartCount: number;
  readonly backoffMs: number;
  /** When the next restart is due (ISO 8601), while in backoff. */
  readonly restartAt?: string;
  readonly health?: string;
  readonly healthOutput?: string;
  /** The container process `health` is about: another process (after a restart) is not judged yet. */
  readonly healthPid?: number;
  readonly error?: string;
}

export interface MachineSnapshots {
  /** The supervisor process that wrote them. */
  readonly pid: number;
  readonly writtenAt: string;
  /** By `pod/container`. */
  readonly containers: Readonly<Record<string, ContainerSnapshot>>;
}

export async function readMachineSnapshots(file: string): Promise<MachineSnapshots | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as MachineSnapshots;
  } catch {
    return undefined;
  }
}

export function writeMachineSnapshots(file: string, snapshots: MachineSnapshots): Promise<void> {
  return writeJsonAtomic(file, snapshots);
}

/** The containers the user stopped, as `pod/container`. */
export async function readStoppedSet(file: string): Promise<Set<string>> {
  try {
    return new Set(JSON.parse(await readFile(file, 'utf8')) as string[]);
  } catch {
    return new Set();
  }
}

export function writeStoppedSet(file: string, stopped: ReadonlySet<string>): Promise<void> {
  return writeJsonAtomic(file, [...stopped].sort());
}
