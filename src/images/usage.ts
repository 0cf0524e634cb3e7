import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Project } from '../project/model.js';
import { readAppliedProject } from '../supervisor/reconcile.js';
import { listImages, type ImageStore, type StoredImage } from './store.js';

// Which images the applied projects use, how much room they take, and taking away what nobody uses.

/** Image ids used by the projects applied under `stateDir`. */
export async function imagesInUse(stateDir: string): Promise<Map<string, string[]>> {
  const used = new Map<string, string[]>();
  const projectsDir = path.join(stateDir, 'projects');
  for (const name of await readdir(projectsDir).catch(() => [] as string[])) {
    const project: Project | undefined = await readAppliedProject(path.join(projectsDir, name, 'applied.json'));
    for (const container of project?.pods.flatMap((pod) => pod.containers) ?? []) {
      if (!container.image?.id) continue;
      used.set(container.image.id, [...(used.get(container.image.id) ?? []), `${name}/${container.pod}/${container.name}`]);
    }
  }
  return used;
}

async function diskUsage(dir: string): Promise<number> {
  const result = await execa('du', ['-sb', dir], { reject: false });
  return Number(String(result.stdout).split('\t')[0]) || 0;
}

export interface ImageUsage {
  readonly image: StoredImage;
  /** Bytes of its unpacked layers. */
  readonly size: number;
  /** Bytes of those layers that other images use too. */
  readonly sharedSize: number;
}

export async function describeImages(store: ImageStore): Promise<ImageUsage[]> {
  const images = await listImages(store);
  const layerSizes = new Map<string, number>();
  for (const digest of new Set(images.flatMap((image) => image.layers))) layerSizes.set(digest, await diskUsage(store.layer(digest)));
  const users = (digest: string) => images.filter((image) => image.layers.includes(digest)).length;
  return images.map((image) => ({
    image,
    size: image.layers.reduce((sum, digest) => sum + (layerSizes.get(digest) ?? 0), 0),
    sharedSize: image.layers.filter((digest) => users(digest) > 1).reduce((sum, digest) => sum + (layerSizes.get(digest) ?? 0), 0),
  }));
}

/** Removes a reference; refuses while a container of an applied project uses the image. */
export async function removeImage(store: ImageStore, stateDir: string, ref: string): Promise<void> {
  const image = (await listImages(store)).find((candidate) => candidate.ref === ref || candidate.id.startsWith(ref) || candidate.id.slice(7).startsWith(ref));
  if (!image) throw new Error(`no image ${ref} in the local store (see corral images)`);
  const users = (await imagesInUse(stateDir)).get(image.id);
  if (users) throw new Error(`image ${image.ref} is used by ${users.join(', ')}; take those down first`);
  await rm(store.refFile(image.ref), { force: true });
}

/** Removes blobs and layers that no stored image references; with `unused`, also images no project uses. */
export async function pruneImages(store: ImageStore, stateDir: string, options: { unused?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  if (options.unused) {
    const inUse = await imagesInUse(stateDir);
    for (const image of await listImages(store)) {
      if (inUse.has(image.id)) continue;
      await rm(store.refFile(image.ref), { force: true });
      removed.push(`image ${image.ref}`);
    }
  }
  const kept = await listImages(store);
  const keptBlobs = new Set(kept.flatMap((image) => [image.id, image.manifestDigest, ...image.layers]));
  const blobDir = path.dirname(store.blob('sha256:x'));
  for (const hex of await readdir(blobDir).catch(() => [] as string[])) {
    if (keptBlobs.has(`sha256:${hex}`)) continue;
    await rm(path.join(blobDir, hex), { force: true });
    removed.push(`blob sha256:${hex.slice(0, 12)}`);
  }
  const layerDir = path.dirname(store.layer('sha256:x'));
  for (const name of await readdir(layerDir).catch(() => [] as string[])) {
    if (keptBlobs.has(name.replace('-', ':')) && (await stat(path.join(layerDir, name))).isDirectory()) continue;
    await rm(path.join(layerDir, name), { recursive: true, force: true });
    removed.push(`layer ${name.slice(0, 19)}`);
  }
  return removed;
}
