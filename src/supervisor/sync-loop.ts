import { watch, type FSWatcher } from 'node:fs';
import { coalesce } from '../coalesce.js';
import { REAL_TIMERS, type Timers } from '../timers.js';

// When the supervisor looks again: conmon writes an exit file when a container's process ends, and
// inotify on the exits dir wakes the supervisor at once; a slow poll catches what no exit file tells
// (a conmon killed with its container, a `runc kill` from outside, inotify unavailable). Wake-ups
// coalesce: passes never overlap, and any number of wake-ups during a pass make exactly one more.

/**
 * Quiet time after an exit file appears, in ms: the containers of a pod usually end together (the pod
 * is killed, an OOM kill, a shared dependency gone), and their exit files arrive within a few ms; one
 * pass sees them all, and 20 ms is nothing next to a restart's backoff.
 */
export const EXIT_QUIET_MS = 20;

/**
 * Time between two passes when nothing wakes the supervisor, in ms: bounds how late an end without
 * an exit file is seen; a pass reads a few files and runc's state per container, so 2 s keeps an idle
 * supervisor at a fraction of a percent of a core with 100 containers.
 */
export const POLL_MS = 2000;

/** Why watching the exits dir may fail, with the poll taking over: said once, with the remedy. */
const WITHOUT_INOTIFY: Readonly<Record<string, string>> = {
  ENOSPC: 'no inotify watch left (raise fs.inotify.max_user_watches with sysctl)',
  EMFILE: 'no inotify instance left (raise fs.inotify.max_user_instances with sysctl)',
  // `down` removed the run dir meanwhile: the next pass finds the project gone.
  ENOENT: 'the exits dir is gone',
};

export interface SyncLoop {
  /** Runs a pass at once (right after the running one, if one runs). */
  wake(): void;
  /** No more passes; a running one finishes. */
  stop(): void;
}

export interface SyncLoopOptions {
  /** conmon's exit files of the project. */
  readonly exitsDir: string;
  /** One pass; it handles its own errors (a rejection is logged). */
  readonly pass: () => Promise<void>;
  readonly onLine: (line: string) => void;
  readonly quietMs?: number;
  readonly pollMs?: number;
  /** What the quiet time and the poll wait with: the real timers, unless a test moves a clock of its own. */
  readonly timers?: Timers;
}

/** Watches the exits dir and polls, from now on; the first pass is the caller's. */
export function startSyncLoop(options: SyncLoopOptions): SyncLoop {
  const timers = options.timers ?? REAL_TIMERS;
  const passes = coalesce(options.pass, { quietMs: options.quietMs ?? EXIT_QUIET_MS, timers });
  const pollMs = options.pollMs ?? POLL_MS;
  const fallBackToPoll = (why: string) => options.onLine(`cannot watch ${options.exitsDir}: ${why}; exits are seen by the ${pollMs / 1000}s poll instead`);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(options.exitsDir, () => passes.poke());
    // Later, the watch itself may fail; the poll goes on, and the line says why and what to do.
    watcher.on('error', (error: NodeJS.ErrnoException) => {
      watcher?.close();
      fallBackToPoll(WITHOUT_INOTIFY[error.code ?? ''] ?? `${error.message} (${error.code ?? 'no errno'})`);
    });
  } catch (error) {
    const why = WITHOUT_INOTIFY[(error as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw error;
    fallBackToPoll(why);
  }
  const poller = timers.setInterval(() => passes.now(), pollMs);
  return {
    wake: () => passes.now(),
    stop() {
      timers.clearInterval(poller);
      watcher?.close();
      passes.stop();
    },
  };
}
