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
