import { byCodeUnits } from '../code-unit-order.js';
import { imageStore, layerSize, listImages } from './store.js';
import type { Dirs } from '../state/paths.js';
import { containersByImage } from './usage.js';

// `corral images`: each image with its unpacked size, the part of it shared with other images of the
// store (layers are stored once), and the containers that use it now.

export interface ImageSummary {
  readonly ref: string;
  readonly id: string;
  readonly layers: number;
  /** Bytes of its unpacked layers. */
  readonly size: number;
  /** Bytes of this image's layers that other images of the store use too. */
  readonly sharedSize: number;
  readonly containers: readonly string[];
  readonly pulledAt: string;
}

export async function summariseImages(dirs: Dirs): Promise<ImageSummary[]> {
  const store = imageStore(dirs.state);
  const [images, users] = await Promise.all([listImages(store), containersByImage(dirs.run)]);
  const imagesOfLayer = new Map<string, number>();
  for (const image of images) for (const digest of new Set(image.layers)) imagesOfLayer.set(digest, (imagesOfLayer.get(digest) ?? 0) + 1);
  const sizes = new Map(await Promise.all([...imagesOfLayer.keys()].map(async (digest) => [digest, await layerSize(store, digest)] as const)));
  return images.map((image) => {
    const layers = [...new Set(image.layers)];
    const sum = (digests: string[]) => digests.reduce((total, digest) => total + (sizes.get(digest) ?? 0), 0);
    return {
      ref: image.ref,
      id: image.id,
      layers: image.layers.length,
      size: sum(layers),
      sharedSize: sum(layers.filter((digest) => imagesOfLayer.get(digest)! > 1)),
      containers: users.get(image.ref) ?? [],
      pulledAt: image.pulledAt,
    };
  });
}

/** One container of a project and the image it was created from: a row of `corral images` (compose's). */
export interface ProjectImageRow {
  /** `pod/container`. */
  readonly container: string;
  readonly ref: string;
  readonly repository: string;
  /** The tag of the reference; `-` when it has none (an archive, a digest). */
  readonly tag: string;
  readonly id: string;
  readonly size: number;
}

/** The repository and tag of a reference: the tag is after the last `:` that no `/` follows. */
export function splitReference(ref: string): { repository: string; tag: string } {
  const withoutDigest = ref.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  if (colon < 0 || withoutDigest.slice(colon + 1).includes('/')) return { repository: withoutDigest, tag: '-' };
  return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
}

/** The images the containers of `project` were created from, one row per container, sorted by container. */
export function imagesOfProject(images: readonly ImageSummary[], project: string): ProjectImageRow[] {
  const prefix = `${project}/`;
  return images.flatMap((image) => image.containers.filter((name) => name.startsWith(prefix)).map((name) => ({
    container: name.slice(prefix.length), ref: image.ref, ...splitReference(image.ref), id: image.id, size: image.size,
  }))).sort((a, b) => byCodeUnits(a.container, b.container));
}
