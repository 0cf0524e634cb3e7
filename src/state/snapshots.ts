import { writeJsonAtomic } from './atomic.js';
import { isRecord, readStateJson } from './read.js';

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

// machines.json only keeps counts: without it, restart counts and backoff start again from zero and
// health is probed anew; nothing is recreated. The supervisor writes it again on its next change.
const machinesFix = (file: string) => `remove it (rm -r ${file}); the supervisor writes it again, with restart counts and backoff starting from zero`;

const isMachineSnapshots = (value: unknown): value is MachineSnapshots => isRecord(value) && typeof value.pid === 'number' && isRecord(value.containers);

/** The supervisor's last snapshots, or undefined when none were written. */
export async function readMachineSnapshots(file: string): Promise<MachineSnapshots | undefined> {
  return readStateJson<MachineSnapshots>(file, { fix: machinesFix(file), isValid: isMachineSnapshots, shape: 'machine snapshots ({"pid": ..., "containers": {...}})' });
}

export function writeMachineSnapshots(file: string, snapshots: MachineSnapshots): Promise<void> {
  return writeJsonAtomic(file, snapshots);
}

// Without stopped.json, the next `up` and the restart policies start what the user stopped: the
// fix says so, and how to stop them again.
const stoppedFix = (file: string) => `remove it (rm -r ${file}), then \`corral stop POD/CONTAINER\` again each container that should stay stopped: until then restart policies may start them`;

const isNameList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The containers the user stopped, as `pod/container`; none when the file is not there. */
export async function readStoppedSet(file: string): Promise<Set<string>> {
  return new Set(await readStateJson<string[]>(file, { fix: stoppedFix(file), isValid: isNameList, shape: 'a JSON list of pod/container names' }));
}

export function writeStoppedSet(file: string, stopped: ReadonlySet<string>): Promise<void> {
  return writeJsonAtomic(file, [...stopped].sort());
}
