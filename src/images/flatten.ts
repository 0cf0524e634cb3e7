import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { whenMissing } from '../state/read.js';
import path from 'node:path';
import { partialName, readLayerInfo } from './store.js';

// Where overlayfs cannot be used, a container's root is a private copy of its image: the layers
// applied bottom first, as overlayfs would show them (a 0/0 character device deletes what is below,
// an opaque directory hides what is below). The copy only ever looks at paths with lstat and
// replaces what is in the way, so a symlink of a lower layer never leads a write out of the copy.

const isWhiteout = (stats: Stats) => stats.isCharacterDevice() && stats.rdev === 0;

/** Whether every component of `relative` below `root` is a real directory (no symlink on the way). */
async function isRealDirectory(root: string, relative: string): Promise<boolean> {
  let current = root;
  for (const part of relative.split('/').filter((segment) => segment && segment !== '.')) {
    current = path.join(current, part);
    // Not there yet (or a file on the way): not a real directory.
    const stats = await lstat(current).catch(whenMissing(undefined, ['ENOTDIR']));
    if (!stats?.isDirectory()) return false;
  }
  return true;
}

async function copyMetadata(source: Stats, target: string): Promise<void> {
  await lchown(target, source.uid, source.gid);
  if (source.isSymbolicLink()) {
    await lutimes(target, source.atime, source.mtime);
    return;
  }
  await chmod(target, source.mode & 0o7777);
  await utimes(target, source.atime, source.mtime);
}

/** Applies one layer dir onto `root`; the parents of every path written are real dirs of the copy. */
async function applyLayer(layerDir: string, root: string, relative = ''): Promise<void> {
  for (const name of await readdir(path.join(layerDir, relative))) {
    const inner = path.join(relative, name);
    const source = await lstat(path.join(layerDir, inner));
    const target = path.join(root, inner);
    const existing = await lstat(target).catch(whenMissing(undefined, ['ENOTDIR']));
    if (isWhiteout(source)) {
      await rm(target, { recursive: true, force: true });
      continue;
    }
    if (source.isDirectory()) {
      if (existing && !existing.isDirectory()) await rm(target, { force: true });
      if (!existing?.isDirectory()) await mkdir(target);
      await applyLayer(layerDir, root, inner);
      await copyMetadata(source, target);
      continue;
    }
    if (existing) await rm(target, { recursive: true, force: true });
    if (source.isSymbolicLink()) await symlink(await readlink(path.join(layerDir, inner)), target);
    else if (source.isFile()) await copyFile(path.join(layerDir, inner), target);
    else continue; // devices, fifos and sockets: images do not ship them, and Node cannot make them
    await copyMetadata(source, target);
  }
}

/** Makes `dest` the merged copy of the layer dirs (bottom first); whole or not at all (built aside, renamed). */
export async function flattenLayers(layerDirs: readonly string[], dest: string): Promise<void> {
  const building = partialName(dest);
  await mkdir(building, { mode: 0o755 });
  try {
    for (const layerDir of layerDirs) {
      for (const opaque of (await readLayerInfo(layerDir))?.opaqueDirs ?? []) {
        if (!(await isRealDirectory(building, opaque))) continue;
        for (const name of await readdir(path.join(building, opaque))) await rm(path.join(building, opaque, name), { recursive: true, force: true });
      }
      await applyLayer(layerDir, building);
      await copyMetadata(await lstat(layerDir), building);
    }
    await rename(building, dest);
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}
