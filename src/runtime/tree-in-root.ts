import { close, createReadStream, fchmod, fchown, fstat, futimes, write, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { IdMapping } from '../project/model.js';
import * as native from '../native.js';
import { whenMissing } from '../state/read.js';
import type { CopyEntry, EntryKind, OnSkipped, Owner } from './copy-entry.js';
import { RuntimeError } from './errors.js';
import { containerIdOf, hostIdOf } from './userns.js';

// Reading and writing trees inside a root through descriptors only: every path is resolved by
// openat2(RESOLVE_IN_ROOT) against the root's descriptor, and a walk goes on from each directory's
// own descriptor, so neither "..", an absolute symlink, a symlink in a middle component nor one
// swapped in while the copy runs can lead outside the root. The host is a root too (its "/"), so one
// walk and one writer serve both ends of `corral cp`; the writer takes the destination directory as
// the root of what it writes, so a tree's own links never lead its later entries out of it.

const closeFd = promisify(close);
const fstatFd = promisify(fstat);
const writeFd = promisify(write);

export interface TreeRoot {
  /** A descriptor of the root directory (or the host's "/"), open for the whole copy. */
  readonly fd: number;
  /** How its paths are named in messages: `web/app:` for a container, '' on the host. */
  readonly label: string;
  /** A user-namespaced container's maps: its ids are other ids on the host. */
  readonly idMaps?: { readonly uid: readonly IdMapping[]; readonly gid: readonly IdMapping[] };
}

/** The descriptor's own file, opened again through /proc/self/fd: the very inode it holds, never a path that could have been swapped since. */
const reopened = (fd: number) => `/proc/self/fd/${fd}`;

function failure(root: TreeRoot, where: string, step: string, cause: unknown, hint: string): RuntimeError {
  return new RuntimeError({ resource: `${root.label}${where}`, step, message: (cause as Error).message, cause, hint });
}

/** What a stat says a file is; undefined for what `cp` does not copy (devices, sockets, FIFOs). */
function kindOf(stats: Stats): EntryKind | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  return stats.isSymbolicLink() ? 'symlink' : undefined;
}

function otherKindName(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return stats.isFIFO() ? 'a FIFO' : 'a socket';
}

/** What is at `where` in the root (a final symlink followed in the root, or not), or undefined when nothing is. */
export async function kindInRoot(root: TreeRoot, where: string, options: { followLink: boolean }): Promise<EntryKind | 'other' | undefined> {
  const fd = await native.openInRoot(root.fd, where, { flags: options.followLink ? ['path'] : ['path', 'nofollow'] }).catch(whenMissing(undefined, ['ENOTDIR'])).catch((error: unknown) => {
    throw failure(root, where, 'copy', error, 'paths are resolved inside the root; links into /proc/PID (fd, root, cwd) are refused');
  });
  if (fd === undefined) return undefined;
  try {
    return kindOf(await fstatFd(fd)) ?? 'other';
  } finally {
    await closeFd(fd);
  }
}

/** The entries of the file `fd` holds (O_PATH) and, for a directory, of everything below it; closes `fd`. */
async function* entriesOf(root: TreeRoot, fd: number, entryPath: string, onSkipped: OnSkipped): AsyncGenerator<CopyEntry> {
  try {
    const stats = await fstatFd(fd);
    const kind = kindOf(stats);
    if (kind === undefined) return onSkipped(entryPath, `${otherKindName(stats)} is not copied`);
    const uid = root.idMaps ? containerIdOf(root.idMaps.uid, stats.uid) : stats.uid;
    const gid = root.idMaps ? containerIdOf(root.idMaps.gid, stats.gid) : stats.gid;
    const base = { path: entryPath, kind, mode: stats.mode & 0o7777, uid, gid, mtime: stats.mtime, size: 0 };
    if (kind === 'symlink') return yield { ...base, linkTarget: await native.readLinkOf(fd) };
    // Opened by its descriptor, after fstat said "regular file": a device node is never opened. Read
    // up to the size it had, so a file the container keeps growing cannot hold the copy forever.
    if (kind === 'file') return yield { ...base, size: stats.size, content: () => (stats.size === 0 ? Readable.from([]) : createReadStream(reopened(fd), { end: stats.size - 1 })) };
    const names = (await readdir(reopened(fd))).sort();
    yield base;
    for (const name of names) {
      // A single name below this directory's descriptor, never followed: nothing to resolve. Gone since the listing: passed over.
      const child = await native.openInRoot(fd, name, { flags: ['path', 'nofollow'] }).catch(whenMissing(undefined));
      if (child !== undefined) yield* entriesOf(root, child, path.posix.join(entryPath, name), onSkipped);
    }
  } finally {
    await closeFd(fd);
  }
}

export interface ReadTreeOptions {
  /** The top entry's path in the stream: the source's name, or the destination's when it is renamed. */
  readonly name: string;
  /** Follow `from` itself when it is a symlink (cp -L); links below it are always copied as links. */
  readonly followLink: boolean;
  readonly onSkipped: OnSkipped;
}

/** The tree at `from` in the root as a stream of entries (symlinks as symlinks, parents first). */
export async function* readTree(root: TreeRoot, from: string, options: ReadTreeOptions): AsyncGenerator<CopyEntry> {
  let fd: number;
  try {
    fd = await native.openInRoot(root.fd, from, { flags: options.followLink ? ['path'] : ['path', 'nofollow'] });
  } catch (error) {
    throw failure(root, from, 'copy', error, 'check the path; inside a container it is resolved in the container\'s root');
  }
  yield* entriesOf(root, fd, options.name, options.onSkipped);
}

export interface WriteTreeOptions {
  /** Owners for every entry (without -a); undefined: each entry's own (-a). */
  readonly owner?: Owner;
}

/** The host ids an entry gets: the fixed owner or its own, mapped into a user-namespaced container's range. */
function hostOwner(root: TreeRoot, entry: CopyEntry, options: WriteTreeOptions): Owner {
  const { uid, gid } = options.owner ?? entry;
  return { uid: hostIdOf(root.idMaps?.uid, uid), gid: hostIdOf(root.idMaps?.gid, gid) };
}

async function writeAll(fd: number, content: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of content) {
    for (let done = 0; done < chunk.length;) done += (await writeFd(fd, chunk, done, chunk.length - done)).bytesWritten;
  }
}

/** Owner, then mode (a chown clears setuid bits), then times, on a descriptor open on the new file or directory. */
async function settle(fd: number, owner: Owner, entry: CopyEntry): Promise<void> {
  await promisify(fchown)(fd, owner.uid, owner.gid);
  await promisify(fchmod)(fd, entry.mode);
  if (entry.kind === 'file') await promisify(futimes)(fd, entry.mtime, entry.mtime);
}

/** Opens what `where` names without following it, runs `use` on the descriptor, and closes it. */
async function withOpened(root: TreeRoot, where: string, flags: readonly native.InRootOpenFlag[], use: (fd: number) => Promise<void>, mode?: number): Promise<void> {
  const fd = await native.openInRoot(root.fd, where, { flags: [...flags, 'nofollow'], ...(mode === undefined ? {} : { mode }) });
  try {
    await use(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * One entry at `where`, as tar extracts: a directory merges into one that is there; anything else
 * replaces what is there (unlinked first, then created exclusively, so a symlink or FIFO put there
 * meanwhile fails the copy instead of being written through); a directory is never replaced.
 */
async function writeEntry(root: TreeRoot, where: string, entry: CopyEntry, owner: Owner): Promise<void> {
  const existing = await kindInRoot(root, where, { followLink: false });
  if (existing === 'directory' && entry.kind === 'directory') return;
  if (existing === 'directory') {
    throw new RuntimeError({ resource: `${root.label}${where}`, step: 'copy', message: `a directory is there, which a ${entry.kind} does not replace`, hint: 'remove it first, or copy to another path' });
  }
  if (existing !== undefined) await native.removeInRoot(root.fd, where);
  if (entry.kind === 'directory') {
    await native.makeDirectoryInRoot(root.fd, where, 0o700);
    return withOpened(root, where, ['read', 'directory'], (fd) => settle(fd, owner, entry));
  }
  if (entry.kind === 'symlink') {
    await native.makeSymlinkInRoot(root.fd, where, entry.linkTarget!);
    return withOpened(root, where, ['path'], (fd) => native.changeOwnerOf(fd, owner));
  }
  return withOpened(root, where, ['write', 'create', 'exclusive'], async (fd) => {
    await writeAll(fd, entry.content!());
    await settle(fd, owner, entry);
  }, 0o600);
}

/**
 * Writes the entries below the directory `into` of the root; resolves how many were written. The
 * entries are resolved with that directory as their root, so whatever they name (a link, then a path
 * below it, as a tar stream may) stays inside it, on the host as in a container.
 */
export async function writeTree(root: TreeRoot, into: string, entries: AsyncIterable<CopyEntry>, options: WriteTreeOptions): Promise<number> {
  let intoFd: number;
  try {
    intoFd = await native.openInRoot(root.fd, into, { flags: ['path', 'directory'] });
  } catch (error) {
    throw failure(root, into, 'copy', error, 'the destination directory must exist');
  }
  const below: TreeRoot = { ...root, fd: intoFd, label: `${root.label}${into.endsWith('/') ? into : `${into}/`}` };
  let written = 0;
  try {
    for await (const entry of entries) {
      try {
        await writeEntry(below, entry.path, entry, hostOwner(root, entry, options));
      } catch (error) {
        if (error instanceof RuntimeError) throw error;
        throw failure(below, entry.path, 'copy', error, 'check the destination: its directory must exist and be writable');
      }
      written++;
    }
  } finally {
    await closeFd(intoFd);
  }
  return written;
}
