import { log } from './log.js';
import { REAL_TIMERS, type TimerHandle, type Timers } from './timers.js';

// Bursts of changes become one apply, and applies never overlap: a change during an apply queues
// exactly one more, however many changes arrive meanwhile. An apply that throws is logged and ends
// nothing: the next change applies again. Used by `watch` (file saves), `gitops` (polls and pushes)
// and the supervisor (conmon's exit files, its poll, and its machines.json writes).

/**
 * Quiet time that closes a burst of file changes, in ms: an editor's save is several events (write,
 * rename, chmod) within a few ms, and a `git checkout` touches many files at once; 150 ms takes them
 * as one change and is still too short for a person to notice.
 */
export const QUIET_MS = 150;

export interface Coalescer {
  /** Something changed: apply after the quiet period (again after the running apply, if one runs). */
  poke(): void;
  /** Something changed that must not wait out a quiet period: apply at once, or right after the running apply. */
  now(): void;
  /** Applies at once what waits out its quiet period; settles when no apply runs or waits. */
  flush(): Promise<void>;
  /** Settles when no apply runs or waits. */
  idle(): Promise<void>;
  stop(): void;
}

export interface CoalesceOptions {
  /** Quiet time that closes a burst of changes, in ms. */
  readonly quietMs: number;
  /** What the quiet period waits with: the real timers, unless a test moves a clock of its own. */
  readonly timers?: Timers;
}

export function coalesce(apply: () => Promise<void>, options: CoalesceOptions): Coalescer {
  const { quietMs, timers = REAL_TIMERS } = options;
  let timer: TimerHandle | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const waiters: (() => void)[] = [];
  const settleIfIdle = () => {
    if (!running && !timer) waiters.splice(0).forEach((resolve) => resolve());
  };
  const idle = () => new Promise<void>((resolve) => {
    waiters.push(resolve);
    settleIfIdle();
  });
  const run = () => {
    timers.clearTimeout(timer);
    timer = undefined;
    if (stopped) return settleIfIdle();
    if (running) {
      again = true;
      return;
    }
    running = apply().catch((error: Error) => log.error(`apply failed: ${error.message}`)).finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        run();
      } else settleIfIdle();
    });
  };
  return {
    poke() {
      if (stopped) return;
      timers.clearTimeout(timer);
      timer = timers.setTimeout(run, quietMs);
    },
    now() {
      if (!stopped) run();
    },
    flush() {
      if (timer) run();
      return idle();
    },
    idle,
    stop() {
      stopped = true;
      timers.clearTimeout(timer);
      timer = undefined;
      settleIfIdle();
    },
  };
}
