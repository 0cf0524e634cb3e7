import { type FSWatcher, watch } from 'node:fs';

// A poll that wakes at once when a directory's entries change (inotify, through fs.watch), and at its
// period otherwise: `up -d` waits so for the supervisor's socket to appear, where a 20 ms sleep between
// two pings cost it ~10 ms on average (README, Benchmarks). The period stays as the fallback: a change
// the watch misses (the dir made or removed meanwhile, a watch refused) only costs the old wait.

export interface DirChanges {
  /** Resolves at the first change since the last call, or after `ms` at the latest. */
  next(ms: number): Promise<void>;
  /** Stops watching (also when no change ever came). */
  close(): void;
}

/** Watches `dir` (not kept alive by it: the command may end while it watches). */
export function watchDirChanges(dir: string): DirChanges {
  let changed = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const noteChange = () => {
    changed = true;
    wake?.();
  };
  try {
    watcher = watch(dir, { persistent: false }, noteChange);
    // A dir removed while watched ends the watch with an error: the period takes over.
    watcher.on('error', () => watcher?.close());
  } catch {
    // No such dir, or no watch to be had: the period alone, as before.
    watcher = undefined;
  }
  return {
    next: (ms) => new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        changed = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (changed) done();
      else wake = done;
    }),
    close: () => watcher?.close(),
  };
}
