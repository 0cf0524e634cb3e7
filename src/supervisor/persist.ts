import { existsSync } from 'node:fs';
import { StateWriteError } from '../state/errors.js';
import type { ProjectPaths } from '../state/paths.js';
import { type ContainerSnapshot, writeMachineSnapshots } from '../state/snapshots.js';
import { coalesce } from '../coalesce.js';
import type { Timers } from '../timers.js';

// The supervisor's knowledge (restarts, backoff, health) in machines.json, which `ps` reads and a
// successor picks up. A burst of machine changes (a pass tells every machine what it sees) is one
// write, and writes never overlap.

/**
 * Quiet time that closes a burst of machine changes, in ms: a pass over 100 containers sends a few
 * hundred events within a few ms; `ps` asks a live supervisor directly (`status`), so the file may
 * lag this much behind.
 */
export const PERSIST_QUIET_MS = 100;

export interface SnapshotPersister {
  /** A machine changed: write machines.json after the quiet period. */
  changed(): void;
  /** Writes what is still waiting (a health the successor would otherwise judge again) and stops. */
  close(): Promise<void>;
}

export interface PersistOptions {
  readonly paths: Pick<ProjectPaths, 'machines' | 'applied'>;
  /** The machines' states as they are at the time of the write, by `pod/container`. */
  readonly snapshots: () => Readonly<Record<string, ContainerSnapshot>>;
  /** Where a failed write is told: the supervisor keeps running, the file keeps its last content. */
  readonly onLine: (line: string) => void;
  readonly quietMs?: number;
  /** What the quiet period waits with: the real timers, unless a test moves a clock of its own. */
  readonly timers?: Timers;
}

export function persistSnapshots(options: PersistOptions): SnapshotPersister {
  const { paths } = options;
  const write = async () => {
    // `down` removed the applied project: writing would leave a machines.json of a project that is gone.
    if (!existsSync(paths.applied)) return;
    try {
      await writeMachineSnapshots(paths.machines, { pid: process.pid, writtenAt: new Date().toISOString(), containers: options.snapshots() });
    } catch (error) {
      // Only a write that failed is told (its file, errno and remedy); anything else is a bug and surfaces.
      if (!(error instanceof StateWriteError)) throw error;
      options.onLine(error.toString());
    }
  };
  const writes = coalesce(write, { quietMs: options.quietMs ?? PERSIST_QUIET_MS, timers: options.timers });
  return {
    changed: () => writes.poke(),
    async close() {
      await writes.flush();
      writes.stop();
    },
  };
}
