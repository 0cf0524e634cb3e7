import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as native from '../native.js';

// One writer per project: `up`, `down` and the supervisor take an exclusive flock on the project's
// lock file. The kernel drops it when the holder dies, so a crash never leaves a stale lock.

/** Runs `work` while holding the project lock; waits for another holder to finish. */
export async function withProjectLock<T>(lockFile: string, work: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  const fd = await native.lockFile(lockFile);
  try {
    return await work();
  } finally {
    native.unlockFile(fd);
  }
}
