import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as native from '../native.js';

// One writer per project: `up`, `down` and the supervisor take an exclusive flock on the project's
// lock file. The kernel drops it when the holder dies, so a crash never leaves a stale lock.

/**
 * Runs `work` while holding the project lock; waits for another holder to finish, and tells
 * `onWaited` how long that took (so a second `up` can say that it waited).
 */
export async function withProjectLock<T>(lockFile: string, work: () => Promise<T>, onWaited?: (ms: number) => void, options: { createDir?: boolean } = {}): Promise<T> {
  if (options.createDir ?? true) await mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  const started = performance.now();
  const fd = await native.lockFile(lockFile);
  onWaited?.(performance.now() - started);
  try {
    return await work();
  } finally {
    native.unlockFile(fd);
  }
}
