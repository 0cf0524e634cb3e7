import { log } from '../log.js';

// Bursts of changes become one apply, and applies never overlap: a change during an apply queues
// exactly one more, however many changes arrive meanwhile. An apply that throws is logged and ends
// nothing: the next change applies again.

export interface Coalescer {
  /** Something changed: apply after the quiet period (again after the running apply, if one runs). */
  poke(): void;
  /** Settles when no apply runs or waits. */
  idle(): Promise<void>;
  stop(): void;
}

export function coalesce(apply: () => Promise<void>, quietMs: number): Coalescer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const waiters: (() => void)[] = [];
  const settleIfIdle = () => {
    if (!running && !timer) waiters.splice(0).forEach((resolve) => resolve());
  };
  const run = () => {
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
      clearTimeout(timer);
      timer = setTimeout(run, quietMs);
    },
    idle: () => new Promise<void>((resolve) => {
      waiters.push(resolve);
      settleIfIdle();
    }),
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      settleIfIdle();
    },
  };
}
