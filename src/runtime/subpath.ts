import { lstat, mkdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

// A volume's subpath is resolved the way a chroot would see it: symlinks are followed, but an
// absolute link restarts at the volume's root and `..` stops there, so a link planted in the volume
// (by a container that writes to it) can never point the mount outside the volume.

const MAX_LINKS = 40;

/** The real path of `subpath` inside `root`; missing directories are created (as Kubernetes does). */
export async function resolveInside(root: string, subpath: string): Promise<string> {
  const realRoot = await realpath(root);
  let current = realRoot;
  const pending = subpath.split('/').filter(Boolean);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      current = current === realRoot ? realRoot : path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    const info = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!info) {
      await mkdir(next, { mode: 0o755 });
      current = next;
    } else if (info.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new Error(`subpath ${subpath} has too many symbolic links (ELOOP)`);
      const target = await readlink(next);
      if (target.startsWith('/')) current = realRoot;
      pending.unshift(...target.split('/').filter(Boolean));
    } else if (info.isDirectory() || pending.length === 0) {
      current = next;
    } else {
      throw new Error(`subpath ${subpath}: ${path.relative(realRoot, next)} is not a directory`);
    }
  }
  return current;
}

/**
 * Checks that what is mounted at `mounted` (seen through the created, not yet started container's
 * /proc/PID/root) is the directory `subpath` resolves to inside `root` now. Between resolving and
 * the runtime's mount, another container writing to the volume could have swapped a directory for
 * a symlink; whatever it did, a mount of anything else has another device or inode.
 */
export async function verifyMountedInside(mounted: string, root: string, subpath: string): Promise<void> {
  const [seen, expected] = await Promise.all([stat(mounted), resolveInside(root, subpath).then((resolved) => stat(resolved))]);
  if (seen.dev !== expected.dev || seen.ino !== expected.ino) {
    throw new Error(`subpath ${subpath} changed while it was mounted (a symlink was swapped in?); the container was not started`);
  }
}
