// The timers that quiet periods and polls wait with: the real ones, or in a test a clock the test moves
// by hand, so that a quiet period or a poll ends when the test says and not whenever a loaded machine
// gets round to it.

/** What starting a timer returns: Node's Timeout for the real timers, a number for a test's clock. */
export type TimerHandle = NodeJS.Timeout | number;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

export const REAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle),
};
