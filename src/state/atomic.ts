import { open, rename, mkdir, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { StateWriteError } from './errors.js';
import { crashPoint } from '../crash-point.js';

// A reader must see the old file or the new one, never half of either, even if we crash mid-write or
// the disk fills up: write a temporary sibling, fsync it, rename it over the target, fsync the dir
// (so the rename itself survives a power cut). A failure removes the temporary and leaves the old file.

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `content` to a new temporary sibling of `file`, on disk when it returns; its path. */
async function writeTemporary(file: string, content: string | Uint8Array, mode: number): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Unique per write: two writes of one file in the same millisecond must not share a temporary.
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    // Best effort: the write's own error is the one to report, and a leftover .tmp is harmless.
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  return temporary;
}

/** Atomically replaces `file` with `content` (mode 0600 unless told otherwise); a StateWriteError says why not. */
export async function writeFileAtomic(file: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  try {
    const temporary = await writeTemporary(file, content, mode);
    crashPoint(`write ${path.basename(file)}: before rename`);
    await rename(temporary, file).catch(async (error: unknown) => {
      await unlink(temporary).catch(() => {}); // best effort, as above
      throw error;
    });
    crashPoint(`write ${path.basename(file)}: after rename`);
    await syncDirectory(path.dirname(file));
  } catch (error) {
    throw new StateWriteError(file, error as NodeJS.ErrnoException);
  }
}

/** Atomically writes `value` as pretty JSON. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Proves, before anything changes, that `file` could be replaced by `content`: the same bytes are
 * written to a temporary sibling and synced, then removed. A full or read-only file system thus
 * fails the command while the host and the state are still as they were.
 */
export async function checkWritable(file: string, content: string | Uint8Array): Promise<void> {
  try {
    await unlink(await writeTemporary(file, content, 0o600));
  } catch (error) {
    throw new StateWriteError(file, error as NodeJS.ErrnoException);
  }
}
