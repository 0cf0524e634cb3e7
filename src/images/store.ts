import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import * as native from '../native.js';
import { writeJsonAtomic } from '../state/atomic.js';

// The local image store, shared by all projects: content-addressed blobs (each verified against its
// digest before it is kept), each layer unpacked once into overlayfs' format (whiteouts become 0/0
// character devices, opaque directories get trusted.overlay.opaque), and the image references. A
// container's root is an overlay of its image's layers (read-only, shared) and its own upper dir.

export interface ImageConfig {
  readonly Entrypoint?: string[] | null;
  readonly Cmd?: string[] | null;
  readonly Env?: string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly ExposedPorts?: Record<string, object>;
  readonly StopSignal?: string;
  /** Docker's extension: durations in nanoseconds. */
  readonly Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number };
}

export interface StoredImage {
  /** The reference it was pulled by, as written in the project file. */
  readonly ref: string;
  /** sha256 of the config blob: what identifies the image. */
  readonly id: string;
  readonly manifestDigest: string;
  /** Layer digests, bottom first. */
  readonly layers: readonly string[];
  readonly config: ImageConfig;
  readonly pulledAt: string;
}

export class ImageError extends Error {}

export function imageStore(stateDir: string) {
  const root = path.join(stateDir, 'images');
  const blob = (digest: string) => path.join(root, 'blobs', digest.replace(':', '/'));
  const layer = (digest: string) => path.join(root, 'layers', digest.replace(':', '-'));
  const refFile = (ref: string) => path.join(root, 'refs', `${encodeURIComponent(ref)}.json`);
  return { root, blob, layer, refFile, refs: path.join(root, 'refs') };
}

export type ImageStore = ReturnType<typeof imageStore>;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

const exists = (file: string) => stat(file).then(() => true, () => false);

/** Copies a blob from an OCI layout into the store, refusing it unless its content matches its digest. */
async function importBlob(store: ImageStore, layoutDir: string, digest: string): Promise<void> {
  const target = store.blob(digest);
  if (await exists(target)) return;
  const source = path.join(layoutDir, 'blobs', digest.replace(':', '/'));
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const temporary = `${target}.${process.pid}.partial`;
  await copyFile(source, temporary);
  const actual = await sha256Of(temporary);
  if (actual !== digest) {
    await unlink(temporary).catch(() => {});
    throw new ImageError(`blob ${digest} is corrupt: its content has digest ${actual}; nothing was stored (pull again, or check the source)`);
  }
  await rename(temporary, target);
}

/** Turns the OCI whiteouts of an unpacked layer into overlayfs' own. */
async function convertWhiteouts(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name === '.wh..wh..opq') {
      await unlink(full);
      await native.markOpaque(dir);
    } else if (entry.name.startsWith('.wh.')) {
      await rm(full, { recursive: true, force: true });
      await native.makeWhiteout(path.join(dir, entry.name.slice(4)));
    } else if (entry.isDirectory()) {
      await convertWhiteouts(full);
    }
  }
}

/** Unpacks a layer blob once; a half-unpacked layer is never in place (unpacked aside, then renamed). */
async function unpackLayer(store: ImageStore, digest: string): Promise<void> {
  const target = store.layer(digest);
  if (await exists(target)) return;
  const temporary = `${target}.${process.pid}.partial`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true, mode: 0o755 });
  // GNU tar recognises gzip and zstd by itself; owners and modes as in the layer.
  const untar = await execa('tar', ['-xf', store.blob(digest), '-C', temporary, '--numeric-owner', '--same-owner', '--same-permissions', '--no-overwrite-dir'], { reject: false });
  if (untar.exitCode !== 0) {
    await rm(temporary, { recursive: true, force: true });
    throw new ImageError(`layer ${digest} does not unpack: ${String(untar.stderr).trim()}`);
  }
  await convertWhiteouts(temporary);
  await rename(temporary, target);
}

interface OciIndex { manifests: { digest: string; mediaType?: string; annotations?: Record<string, string> }[] }
interface OciManifest { config: { digest: string }; layers: { digest: string }[]; manifests?: { digest: string; platform?: { architecture?: string; os?: string } }[] }

async function readBlobJson<T>(store: ImageStore, layoutDir: string, digest: string): Promise<T> {
  await importBlob(store, layoutDir, digest);
  return JSON.parse(await readFile(store.blob(digest), 'utf8')) as T;
}

/** Imports the single image of an OCI layout (as skopeo writes it) under `ref`. */
export async function importLayout(store: ImageStore, layoutDir: string, ref: string): Promise<StoredImage> {
  const index = JSON.parse(await readFile(path.join(layoutDir, 'index.json'), 'utf8')) as OciIndex;
  let manifestDigest = index.manifests[0]?.digest;
  if (!manifestDigest) throw new ImageError(`${layoutDir} holds no image`);
  let manifest = await readBlobJson<OciManifest>(store, layoutDir, manifestDigest);
  if (manifest.manifests) {
    // An image index: the manifest for this machine.
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const chosen = manifest.manifests.find((entry) => entry.platform?.architecture === arch && entry.platform?.os === 'linux') ?? manifest.manifests[0]!;
    manifestDigest = chosen.digest;
    manifest = await readBlobJson<OciManifest>(store, layoutDir, manifestDigest);
  }
  const config = await readBlobJson<{ config?: ImageConfig }>(store, layoutDir, manifest.config.digest);
  for (const layer of manifest.layers) {
    await importBlob(store, layoutDir, layer.digest);
    await unpackLayer(store, layer.digest);
  }
  const image: StoredImage = {
    ref, id: manifest.config.digest, manifestDigest, layers: manifest.layers.map((layer) => layer.digest), config: config.config ?? {}, pulledAt: new Date().toISOString(),
  };
  await writeJsonAtomic(store.refFile(ref), image);
  return image;
}

export async function readImage(store: ImageStore, ref: string): Promise<StoredImage | undefined> {
  try {
    return JSON.parse(await readFile(store.refFile(ref), 'utf8')) as StoredImage;
  } catch {
    return undefined;
  }
}

export async function listImages(store: ImageStore): Promise<StoredImage[]> {
  const files = await readdir(store.refs).catch(() => [] as string[]);
  return (await Promise.all(files.map((file) => readFile(path.join(store.refs, file), 'utf8').then((text) => JSON.parse(text) as StoredImage)))).sort((a, b) => (a.ref < b.ref ? -1 : 1));
}
