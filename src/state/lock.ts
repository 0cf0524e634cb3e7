import { mkdir, stat } from 'node:fs/promises';
import { fstatSync } from 'node:fs';
import path from 'node:path';
import * as native from '../native.js';
import { log } from '../log.js';

// One writer per project: `up`, `down` and the supervisor take an exclusive flock on the project's
// lock file. The kernel drops it when the holder dies, so a crash never leaves a stale lock.
// `down` removes the run dir, lock file included, while others may wait on that file: their flock
// then holds an unlinked inode that the next `up` (which makes a new lock file) never sees. So a
// lock only counts when the file at the path is still the one locked; otherwise it is taken again.

const ATTEMPTS = 100;

/** Whether `fd` is the file that `lockFile` names now (not one unlinked or replaced meanwhile). */
async function isStillTheLockFile(fd: number, lockFile: string): Promise<boolean> {
  const held = fstatSync(fd);
  const named = await stat(lockFile).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return named !== undefined && named.dev === held.dev && named.ino === held.ino;
}

/** Locks the file at `lockFile` (made, with its dir when `createDir`); the descriptor that holds it. */
async function lockTheFileNamed(lockFile: string, createDir: boolean): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    if (createDir) await mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
    const fd = await native.lockFile(lockFile);
    if (await isStillTheLockFile(fd, lockFile).catch((error) => {
      native.unlockFile(fd);
      throw error;
    })) return fd;
    native.unlockFile(fd);
    if (attempt >= ATTEMPTS) throw new Error(`cannot lock ${lockFile}: it was removed or replaced ${ATTEMPTS} times while waiting for it; is something deleting the run dir in a loop?`);
  }
}

/**
 * Runs `work` while holding the project lock (`purpose` names it in the debug log); waits for another
 * holder to finish, and tells `onWaited` how long that took (so a second `up` can say that it waited).
 */
export async function withProjectLock<T>(lockFile: string, work: () => Promise<T>, onWaited?: (ms: number) => void, options: { createDir?: boolean; purpose?: string } = {}): Promise<T> {
  const started = performance.now();
  const fd = await lockTheFileNamed(lockFile, options.createDir ?? true);
  // On the monotonic clock, which all processes share: concurrent commands can be put in lock order.
  log.debug(`lock ${lockFile} taken by pid ${process.pid} at ${process.hrtime.bigint()} ns to ${options.purpose ?? 'change the project'}`);
  onWaited?.(performance.now() - started);
  try {
    return await work();
  } finally {
    native.unlockFile(fd);
  }
}
