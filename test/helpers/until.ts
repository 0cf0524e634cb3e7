import { eventually } from './sandbox.js';

// For what a real event source delivers in its own time (inotify, a write to disk): wait for the
// positive condition, bounded, instead of sleeping a fixed time and hoping it was long enough.

/** Settles once `condition` holds; fails at `timeoutMs` saying what it waited for. */
export async function until(condition: () => boolean, what: string, { timeoutMs = 10_000 } = {}): Promise<void> {
  await eventually(async () => condition() || undefined, what, timeoutMs);
}
