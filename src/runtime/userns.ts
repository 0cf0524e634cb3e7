import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { namesInDir, whenMissing } from '../state/read.js';
import path from 'node:path';
import type { IdMapping, UserNamespace } from '../project/model.js';
import { resolveInside } from './subpath.js';

// `userns: auto` gives a container 65536 host ids of its own, far above the ids people and
// /etc/subuid use: container root is an unprivileged host user that owns nothing else. Ranges are
// claimed with exclusive files in the state dir (one per slot, holding the container id), kept while
// the container exists, so a recreate gets the same range and everything it wrote stays its own.

export const AUTO_RANGE_SIZE = 65536;
/** The first auto range starts at 2^30; slots above it, up to just below 2^32. */
const AUTO_BASE = 2 ** 30;
const AUTO_SLOTS = Math.floor((2 ** 32 - 2 - AUTO_BASE) / AUTO_RANGE_SIZE);

export type ResolvedUserNamespace = { readonly uidMappings: readonly IdMapping[]; readonly gidMappings: readonly IdMapping[] };

/** The claimed range of a container, claiming a free one when it has none. */
async function claimRange(claimsDir: string, id: string): Promise<number> {
  await mkdir(claimsDir, { recursive: true, mode: 0o700 });
  const claims = await readdir(claimsDir);
  for (const slot of claims) {
    // A claim released meanwhile (ENOENT) is no one's.
    if ((await readFile(path.join(claimsDir, slot), 'utf8').catch(whenMissing(''))) === id) return AUTO_BASE + Number(slot) * AUTO_RANGE_SIZE;
  }
  const taken = new Set(claims.map(Number));
  for (let slot = 0; slot < AUTO_SLOTS; slot++) {
    if (taken.has(slot)) continue;
    try {
      await writeFile(path.join(claimsDir, String(slot)), id, { flag: 'wx', mode: 0o600 });
      return AUTO_BASE + slot * AUTO_RANGE_SIZE;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error('every automatic user namespace range is taken; remove containers or give explicit uid_map/gid_map');
}

/** The id maps a container runs with; undefined without a user namespace. */
export async function resolveUserNamespace(userns: UserNamespace | undefined, claimsDir: string, id: string): Promise<ResolvedUserNamespace | undefined> {
  if (!userns) return undefined;
  if (!('auto' in userns)) return userns;
  const hostId = await claimRange(claimsDir, id);
  const mappings = [{ containerId: 0, hostId, size: AUTO_RANGE_SIZE }];
  return { uidMappings: mappings, gidMappings: mappings };
}

/** Gives back the automatic ranges of the containers whose id passes `owned` (one container, or a whole project). */
export async function releaseUserNamespaces(claimsDir: string, owned: (id: string) => boolean): Promise<void> {
  for (const slot of await namesInDir(claimsDir)) {
    if (owned(await readFile(path.join(claimsDir, slot), 'utf8').catch(whenMissing('')))) await rm(path.join(claimsDir, slot), { force: true });
  }
}

/** The id the kernel shows for one a user namespace does not map. */
const OVERFLOW_ID = 65534;

type IdSide = 'containerId' | 'hostId';

/** An id through the maps from one side to the other; one not mapped is the overflow id. */
function mapId(mappings: readonly IdMapping[] | undefined, id: number, from: IdSide, to: IdSide): number {
  if (!mappings) return id;
  const mapping = mappings.find((candidate) => id >= candidate[from] && id < candidate[from] + candidate.size);
  return mapping ? mapping[to] + (id - mapping[from]) : OVERFLOW_ID;
}

/** The host id a container id is mapped to (the overflow id 65534 when it is not mapped). */
export function hostIdOf(mappings: readonly IdMapping[] | undefined, containerId: number): number {
  return mapId(mappings, containerId, 'containerId', 'hostId');
}

/** The container id a host id stands for: what `corral cp` reports of a user-namespaced container's files. */
export function containerIdOf(mappings: readonly IdMapping[] | undefined, hostId: number): number {
  return mapId(mappings, hostId, 'hostId', 'containerId');
}

/**
 * The runtime mounts a user-namespaced container's root and bind sources as the container's root,
 * an unprivileged host user, so every directory above them must let others pass (x, never r).
 */
export async function allowTraversal(paths: readonly string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const target of paths) {
    for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) dirs.add(dir);
  }
  for (const dir of dirs) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) await chmod(dir, (info.mode & 0o7777) | 0o001);
  }
}

/**
 * The runtime creates missing mount points as the container's root, which may not write to the
 * image's directories (they belong to the host's root). Creates them first, as the host's root, in
 * the overlay's upper dir; symlinks in the image resolve inside the root, never to the host.
 */
export async function prepareMountPoints(rootfs: string, mounts: readonly { destination: string; type: string; source: string }[]): Promise<void> {
  for (const mount of mounts) {
    const isFile = mount.type === 'bind' && (await stat(mount.source).then((info) => !info.isDirectory(), whenMissing(false)));
    if (!isFile) {
      await resolveInside(rootfs, mount.destination);
      continue;
    }
    const parent = await resolveInside(rootfs, path.dirname(mount.destination));
    await writeFile(path.join(parent, path.basename(mount.destination)), '', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
