import { rm, rmdir, stat, unlink } from 'node:fs/promises';
import { namesInDir } from './read.js';
import { fstatSync } from 'node:fs';
import path from 'node:path';
import * as native from '../native.js';
import { log } from '../log.js';
import { crashPoint } from '../crash-point.js';
import { makeDirDespiteRemoval } from './make-dir.js';

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

/**
 * The lock files this process waits for or holds, each with the end of its queue. A flock that
 * waits blocks one of libuv's four threads; more waiters in one process than that (eight pods
 * attached side by side, each leasing an address under its network's lock) would block them all,
 * and the holder could never finish the file work it needs a thread for. So within one process the
 * takers of one lock file queue here first, and only the head of the queue waits in flock.
 */
const queues = new Map<string, Promise<void>>();

async function inProcessTurn(lockFile: string): Promise<() => void> {
  const before = queues.get(lockFile) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = resolve; });
  const tail = before.then(() => mine);
  queues.set(lockFile, tail);
  await before;
  return () => {
    release();
    if (queues.get(lockFile) === tail) queues.delete(lockFile);
  };
}

/** Locks the file at `lockFile` (made, with its dir when `createDir`); the descriptor that holds it. */
async function lockTheFileNamed(lockFile: string, createDir: boolean): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      if (createDir) await makeDirDespiteRemoval(path.dirname(lockFile), 0o700);
      fd = await native.lockFile(lockFile);
    } catch (error) {
      // A `down` removing the run dir at this very moment: mkdir saw the dir, which was gone when it
      // checked it (or when the lock file was opened in it). Made again at the next attempt.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !createDir || attempt >= ATTEMPTS) throw error;
      continue;
    }
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
  const endTurn = await inProcessTurn(lockFile);
  let fd: number;
  try {
    fd = await lockTheFileNamed(lockFile, options.createDir ?? true);
  } catch (error) {
    endTurn();
    throw error;
  }
  // On the monotonic clock, which all processes share: concurrent commands can be put in lock order.
  log.debug(`lock ${lockFile} taken by pid ${process.pid} at ${process.hrtime.bigint()} ns to ${options.purpose ?? 'change the project'}`);
  onWaited?.(performance.now() - started);
  try {
    return await work();
  } finally {
    native.unlockFile(fd);
    endTurn();
  }
}

/**
 * The last step of a `down`, still under the lock: the dir that holds the lock file, emptied, then the
 * lock file, then the dir. Once the lock file is gone, a command arriving may make its own there and
 * take the lock at once: the dir is then its, and left to it. Nothing of the down may follow this step.
 */
export async function removeLockAndItsDir(lockFile: string): Promise<void> {
  const ignore = (codes: string[]) => (error: NodeJS.ErrnoException) => {
    if (!codes.includes(error.code ?? '')) throw error;
  };
  const dir = path.dirname(lockFile);
  for (const entry of await namesInDir(dir)) {
    if (entry !== path.basename(lockFile)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
  crashPoint('down: run dir emptied');
  await unlink(lockFile).catch(ignore(['ENOENT']));
  crashPoint('down: lock file removed');
  await rmdir(dir).catch(ignore(['ENOENT', 'ENOTEMPTY']));
}
