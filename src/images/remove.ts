import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { namesInDir, pathExists, whenMissing } from '../state/read.js';
import path from 'node:path';
import type { Dirs } from '../state/paths.js';
import { removeDeadBuildLeftovers } from './build-leftovers.js';
import { ImageError } from './errors.js';
import { removeDeadPulls } from './pull.js';
import { imageStore, layerSize, listImages, withStoreLock, type ImageStore, type StoredImage } from './store.js';
import { containersByImage, mountedLayerDirs } from './usage.js';

// `corral image rm` and `corral image prune`: references go first, then every blob and layer that
// no remaining reference names and no container has mounted. Both hold the store lock, so a pull
// never loses a blob it has just imported.

export interface Removal {
  /** References removed. */
  readonly images: readonly string[];
  /** Layer digests removed. */
  readonly layers: readonly string[];
  /** Bytes given back: unpacked layers plus blobs. */
  readonly reclaimedBytes: number;
  /** What killed builds left in buildah's storage (`buildah container NAME (ID)`, `buildah image TAG`). */
  readonly buildLeftovers?: readonly string[];
}

interface Garbage {
  readonly layers: string[];
  readonly bytes: number;
}

const sizeOf = (file: string) => stat(file).then((found) => found.size, () => 0);
const pidIsAlive = (pid: number) => pathExists(`/proc/${pid}`);

/** A `….<pid>.<random>.partial` whose writer died is garbage. */
async function isDeadPartial(name: string): Promise<boolean> {
  const pid = Number(/\.(\d+)\.[0-9a-f]+\.partial$/.exec(name)?.[1]);
  return Boolean(pid) && pid !== process.pid && !(await pidIsAlive(pid));
}

/** Removes what no reference names and no container uses; returns the layers removed and the bytes freed. */
async function collectGarbage(store: ImageStore, kept: readonly StoredImage[]): Promise<Garbage> {
  const mounted = await mountedLayerDirs(store);
  const namedBlobs = new Set(kept.flatMap((image) => [image.manifestDigest, image.id, ...image.layers]));
  const namedLayers = new Set(kept.flatMap((image) => image.layers));
  let freed = 0;
  const layers: string[] = [];
  for (const name of await namesInDir(store.layers)) {
    const full = path.join(store.layers, name);
    if (name.endsWith('.partial')) {
      if (await isDeadPartial(name)) await rm(full, { recursive: true, force: true });
      continue;
    }
    if (name.endsWith('.json')) continue;
    const digest = name.replace('-', ':');
    if (namedLayers.has(digest) || mounted.has(full)) continue;
    freed += await layerSize(store, digest);
    await rm(full, { recursive: true, force: true });
    await rm(store.layerInfo(digest), { force: true });
    layers.push(digest);
  }
  for (const algorithm of await namesInDir(store.blobs)) {
    for (const name of await readdir(path.join(store.blobs, algorithm))) {
      const full = path.join(store.blobs, algorithm, name);
      if (name.endsWith('.partial')) {
        if (await isDeadPartial(name)) await unlink(full).catch(whenMissing(undefined));
        continue;
      }
      const digest = `${algorithm}:${name}`;
      // A mounted layer's blob stays with it: a later pull of its image links it instead of downloading.
      if (namedBlobs.has(digest) || mounted.has(store.layer(digest))) continue;
      freed += await sizeOf(full);
      await unlink(full);
    }
  }
  await removeDeadPulls(store);
  return { layers: layers.sort(), bytes: freed };
}

/** The images a name stands for: a reference as pulled, or a prefix of an id naming one image. */
function imagesNamed(images: readonly StoredImage[], name: string): StoredImage[] {
  const byRef = images.filter((image) => image.ref === name);
  if (byRef.length > 0) return byRef;
  const hex = name.replace(/^sha256:/, '');
  const byId = /^[0-9a-f]{4,64}$/.test(hex) ? images.filter((image) => image.id.slice(7).startsWith(hex)) : [];
  if (byId.length > 1) throw new ImageError(`${name} is the id of ${byId.map((image) => image.ref).join(', ')} (remove them by name)`, { invalidInput: true });
  if (byId.length === 0) throw new ImageError(`no image ${name} in the store (\`corral images\` lists them by the name they were pulled as)`, { invalidInput: true });
  return byId;
}

/** Removes images by reference; refuses (and removes nothing) while a container uses one of them. */
export async function removeImages(dirs: Dirs, refs: readonly string[]): Promise<Removal> {
  const store = imageStore(dirs.state);
  return withStoreLock(store, async () => {
    const images = await listImages(store);
    const users = await containersByImage(dirs.run);
    const doomed = [...new Set(refs.flatMap((name) => imagesNamed(images, name)))];
    for (const { ref } of doomed) {
      const using = users.get(ref) ?? [];
      if (using.length > 0) throw new ImageError(`image ${ref} is used by ${using.join(', ')} (remove those containers first, e.g. with \`corral down\`)`);
    }
    for (const { ref } of doomed) await rm(store.refFile(ref), { force: true });
    const garbage = await collectGarbage(store, images.filter((image) => !doomed.includes(image)));
    return { images: doomed.map((image) => image.ref), layers: garbage.layers, reclaimedBytes: garbage.bytes };
  });
}

/**
 * `down --rmi`: removes those of `refs` that are in the store and that no container (of any project)
 * uses; the others are kept and named with their users, not an error: the project is down either way.
 */
export async function removeImagesNoOneUses(dirs: Dirs, refs: readonly string[]): Promise<Removal & { readonly kept: readonly { ref: string; users: readonly string[] }[] }> {
  const store = imageStore(dirs.state);
  return withStoreLock(store, async () => {
    const images = await listImages(store);
    const users = await containersByImage(dirs.run);
    const wanted = new Set(refs);
    const present = images.filter((image) => wanted.has(image.ref));
    const kept = present.filter((image) => (users.get(image.ref) ?? []).length > 0).map((image) => ({ ref: image.ref, users: users.get(image.ref)! }));
    const doomed = present.filter((image) => !kept.some((one) => one.ref === image.ref));
    for (const { ref } of doomed) await rm(store.refFile(ref), { force: true });
    const garbage = await collectGarbage(store, images.filter((image) => !doomed.includes(image)));
    return { images: doomed.map((image) => image.ref), layers: garbage.layers, reclaimedBytes: garbage.bytes, kept };
  });
}

/**
 * Frees what nothing needs: blobs and layers no reference names (left by re-pulls and removals),
 * leftovers of interrupted pulls and of killed builds (also in buildah's storage); with `all`, also
 * every image no container uses.
 */
export async function pruneImages(dirs: Dirs, options: { all?: boolean } = {}): Promise<Removal> {
  const store = imageStore(dirs.state);
  return withStoreLock(store, async () => {
    const images = await listImages(store);
    const users = await containersByImage(dirs.run);
    const unused = options.all ? images.filter((image) => !users.has(image.ref)) : [];
    for (const image of unused) await rm(store.refFile(image.ref), { force: true });
    const garbage = await collectGarbage(store, images.filter((image) => !unused.includes(image)));
    const buildLeftovers = await removeDeadBuildLeftovers(store.root);
    return { images: unused.map((image) => image.ref), layers: garbage.layers, reclaimedBytes: garbage.bytes, buildLeftovers };
  });
}
