import type { TimerHandle, Timers } from '../../src/timers.js';

// A clock the test moves by hand, for code that takes its timers as an option: a timer fires only when
// `advance` passes its time, so a quiet period or a poll ends where the test says, however loaded the
// machine is. Timers fire in order of their time (then of their start), and what a timer sets going in
// promises settles before the next one fires; real I/O it starts does not (wait for that with `until`).

interface PendingTimer {
  readonly callback: () => void;
  due: number;
  /** Start order: two timers due at the same time fire in the order they were started. */
  order: number;
  /** For an interval, its period; a timeout fires once. */
  readonly everyMs?: number;
}

export interface ManualClock extends Timers {
  /** Ms since the clock was made, as far as it was advanced. */
  now(): number;
  /** Moves the clock `ms` on, firing every timer due by then in order; settles when all have fired. */
  advance(ms: number): Promise<void>;
  /** Resolves when the clock is advanced `ms` past now: an apply or a pass that takes that long. */
  sleep(ms: number): Promise<void>;
}

/** Like Node, a delay below 1 ms waits 1 ms (a zero interval would otherwise fire forever). */
const delayOf = (ms: number) => Math.max(1, ms);

/** Lets the promises that a fired timer set going run to their end, or to what they wait for next. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export function manualClock(): ManualClock {
  let now = 0;
  let started = 0;
  let lastId = 0;
  const pending = new Map<TimerHandle, PendingTimer>();
  const start = (callback: () => void, ms: number, everyMs?: number) => {
    const id = ++lastId;
    pending.set(id, { callback, due: now + delayOf(ms), order: started++, everyMs });
    return id;
  };
  const cancel = (handle: TimerHandle | undefined) => {
    if (handle !== undefined) pending.delete(handle);
  };
  const nextDue = (until: number) => {
    let next: [TimerHandle, PendingTimer] | undefined;
    for (const entry of pending) {
      const [, timer] = entry;
      if (timer.due <= until && (!next || timer.due < next[1].due || (timer.due === next[1].due && timer.order < next[1].order))) next = entry;
    }
    return next;
  };
  return {
    setTimeout: (callback, ms) => start(callback, ms),
    clearTimeout: cancel,
    setInterval: (callback, ms) => start(callback, ms, delayOf(ms)),
    clearInterval: cancel,
    now: () => now,
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (let next = nextDue(target); next; next = nextDue(target)) {
        const [handle, timer] = next;
        now = timer.due;
        if (timer.everyMs) {
          timer.due += timer.everyMs;
          timer.order = started++;
        } else pending.delete(handle);
        timer.callback();
        await settle();
      }
      now = target;
    },
    sleep: (ms) => new Promise<void>((resolve) => start(resolve, ms)),
  };
}
