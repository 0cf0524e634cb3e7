import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

// A volume's subpath is resolved the way a chroot would see it: symlinks are followed, but an
// absolute link restarts at the volume's root and `..` stops there, so a link planted in the volume
// (by a container that writes to it) can never point the mount outside the volume. A path inside a
// created container is looked up the same way, from its root as the runtime mounted it.

const MAX_LINKS = 40;

/** Walks `subpath` from `root` as a chroot at `root` would; missing directories are created when asked. */
async function walkInside(root: string, subpath: string, options: { create: boolean }): Promise<string> {
  let current = root;
  const pending = subpath.split('/').filter(Boolean);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      current = current === root ? root : path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    const info = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && options.create) return undefined;
      throw error;
    });
    if (!info) {
      await mkdir(next, { mode: 0o755 });
      current = next;
    } else if (info.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new Error(`subpath ${subpath} has too many symbolic links (ELOOP)`);
      const target = await readlink(next);
      if (target.startsWith('/')) current = root;
      pending.unshift(...target.split('/').filter(Boolean));
    } else if (info.isDirectory() || pending.length === 0) {
      current = next;
    } else {
      throw new Error(`subpath ${subpath}: ${path.relative(root, next)} is not a directory`);
    }
  }
  return current;
}

/** The real path of `subpath` inside `root`; missing directories are created (as Kubernetes does). */
export async function resolveInside(root: string, subpath: string): Promise<string> {
  return walkInside(await realpath(root), subpath, { create: true });
}

/**
 * The host path of `target` inside the created container `pid`, with the image's symlinks resolved
 * against the container's root as the runtime resolved them (the kernel would take an absolute link
 * from the host's root).
 */
export function resolveInContainer(pid: number, target: string): Promise<string> {
  return walkInside(`/proc/${pid}/root`, target, { create: false });
}
