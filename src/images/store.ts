import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { isRecord, namesInDir, pathExists, readStateJson } from '../state/read.js';
import path from 'node:path';
import * as native from '../native.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { withProjectLock } from '../state/lock.js';
import type { ImageConfig } from './config.js';
import { ImageError } from './errors.js';
import type { LayerState } from './progress.js';

// The local image store, shared by all projects: content-addressed blobs (each verified against its
// digest before it is kept), each layer unpacked once into overlayfs' format (whiteouts become 0/0
// character devices, opaque directories get trusted.overlay.opaque), and the image references. A
// container's root is an overlay of its image's layers (read-only, shared) and its own upper dir.

export { ImageError };

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
  /** Of an image built here: the hash of the build settings it was built with (build-settings.ts). */
  readonly buildHash?: string;
}

export interface ImportOptions {
  readonly onLayer?: (digest: string, step: LayerState) => void;
  /** Recorded with the image: it was built with these settings. */
  readonly buildHash?: string;
}

export function imageStore(stateDir: string) {
  const root = path.join(stateDir, 'images');
  const blob = (digest: string) => path.join(root, 'blobs', digest.replace(':', '/'));
  const layer = (digest: string) => path.join(root, 'layers', digest.replace(':', '-'));
  const refFile = (ref: string) => path.join(root, 'refs', `${encodeURIComponent(ref)}.json`);
  return {
    root, blob, layer, refFile,
    refs: path.join(root, 'refs'),
    blobs: path.join(root, 'blobs'),
    layers: path.join(root, 'layers'),
    /** What unpacking a layer found out (LayerInfo), written beside it. */
    layerInfo: (digest: string) => layerInfoFile(layer(digest)),
    lock: path.join(root, 'lock'),
  };
}

export type ImageStore = ReturnType<typeof imageStore>;

/** What is known of an unpacked layer without walking it again. */
export interface LayerInfo {
  /** Unpacked size in bytes. */
  readonly size: number;
  /** Directories the layer makes opaque, relative to its root (overlayfs reads them from an xattr Node cannot). */
  readonly opaqueDirs: readonly string[];
}

/** The LayerInfo file of a layer dir. */
export const layerInfoFile = (layerDir: string) => `${layerDir}.json`;

/** What the unpack of a layer recorded; undefined when it recorded nothing (the caller measures then). */
export async function readLayerInfo(layerDir: string): Promise<LayerInfo | undefined> {
  const file = layerInfoFile(layerDir);
  // The layer is unpacked again from its blob when the record goes.
  const fix = `remove it and the layer dir beside it (rm -r ${file} ${layerDir}); the next pull or up unpacks the layer again`;
  return readStateJson<LayerInfo>(file, { fix, isValid: isRecord, shape: 'a layer record' });
}

/**
 * Writers of the store (imports, `image rm`, `image prune`) take its lock, so a prune never removes
 * what an import is about to name. Within one process they queue first: a lock call waiting in a
 * worker thread for each parallel pull could take every thread of libuv's pool.
 */
let queue: Promise<unknown> = Promise.resolve();
export function withStoreLock<T>(store: ImageStore, work: () => Promise<T>): Promise<T> {
  const run = queue.then(() => withProjectLock(store.lock, work));
  // The queue only orders the works; each one's failure goes to its own caller through `run`.
  queue = run.catch(() => {});
  return run;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

const exists = pathExists;

/** A name beside `target` that no other writer uses; the pid in it tells `prune` whether its writer still lives. */
export const partialName = (target: string) => `${target}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;

/** Moves a blob of a pull's temporary layout into the store, refusing it unless its content matches its digest. */
async function importBlob(store: ImageStore, layoutDir: string, digest: string): Promise<void> {
  const target = store.blob(digest);
  if (await exists(target)) return;
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ImageError(`blob ${digest} has a digest this store does not verify; only sha256 is supported`);
  const source = path.join(layoutDir, 'blobs', digest.replace(':', '/'));
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const temporary = partialName(target);
  try {
    await rename(source, temporary).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EXDEV') return copyFile(source, temporary);
      throw error;
    });
    const actual = await sha256Of(temporary);
    if (actual !== digest) throw new ImageError(`blob ${digest} is corrupt: its content has digest ${actual}; nothing was stored (pull again, or check the source)`);
    await rename(temporary, target);
  } finally {
    // Gone already once renamed into place; otherwise best effort, the error above is the one to tell.
    await unlink(temporary).catch(() => {});
  }
}

/** Turns the OCI whiteouts of an unpacked layer into overlayfs' own; returns the opaque dirs, relative to `root`. */
async function convertWhiteouts(root: string, dir = root): Promise<string[]> {
  const opaque: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name === '.wh..wh..opq') {
      await unlink(full);
      await native.markOpaque(dir);
      opaque.push(path.relative(root, dir) || '.');
    } else if (entry.name.startsWith('.wh.')) {
      await rm(full, { recursive: true, force: true });
      await native.makeWhiteout(path.join(dir, entry.name.slice(4)));
    } else if (entry.isDirectory()) {
      opaque.push(...(await convertWhiteouts(root, full)));
    }
  }
  return opaque;
}

/** Unpacks a layer blob once; a half-unpacked layer is never in place (unpacked aside, then renamed). */
async function unpackLayer(store: ImageStore, digest: string): Promise<void> {
  const target = store.layer(digest);
  if (await exists(target)) return;
  const temporary = partialName(target);
  try {
    await mkdir(temporary, { recursive: true, mode: 0o755 });
    // GNU tar recognises gzip and zstd by itself; owners and modes as in the layer.
    const { execa } = await import('execa');
    const untar = await execa('tar', ['-xf', store.blob(digest), '-C', temporary, '--numeric-owner', '--same-owner', '--same-permissions', '--no-overwrite-dir'], { reject: false });
    if (untar.exitCode !== 0) throw new ImageError(`layer ${digest} does not unpack: ${String(untar.stderr).trim()}`);
    const opaqueDirs = await convertWhiteouts(temporary);
    const du = await execa('du', ['-sb', temporary]);
    const info: LayerInfo = { size: Number.parseInt(String(du.stdout), 10), opaqueDirs: opaqueDirs.sort() };
    await writeFile(store.layerInfo(digest), `${JSON.stringify(info)}\n`, { mode: 0o600 });
    await rename(temporary, target);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

interface OciIndex { manifests: { digest: string; mediaType?: string; annotations?: Record<string, string> }[] }
export interface OciManifest { config: { digest: string }; layers: { digest: string; size?: number }[]; manifests?: { digest: string; platform?: { architecture?: string; os?: string } }[] }

async function readBlobJson<T>(store: ImageStore, layoutDir: string, digest: string): Promise<T> {
  await importBlob(store, layoutDir, digest);
  return JSON.parse(await readFile(store.blob(digest), 'utf8')) as T;
}

/** Imports the single image of an OCI layout (as skopeo writes it) under `ref`. */
export async function importLayout(store: ImageStore, layoutDir: string, ref: string, { onLayer, buildHash }: ImportOptions = {}): Promise<StoredImage> {
  return withStoreLock(store, async () => {
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
      if (await exists(store.layer(layer.digest))) {
        onLayer?.(layer.digest, 'present');
        continue;
      }
      onLayer?.(layer.digest, 'verifying');
      await importBlob(store, layoutDir, layer.digest);
      onLayer?.(layer.digest, 'unpacking');
      await unpackLayer(store, layer.digest);
      onLayer?.(layer.digest, 'done');
    }
    const image: StoredImage = {
      ref, id: manifest.config.digest, manifestDigest, layers: manifest.layers.map((layer) => layer.digest), config: config.config ?? {}, pulledAt: new Date().toISOString(),
      ...(buildHash === undefined ? {} : { buildHash }),
    };
    await writeJsonAtomic(store.refFile(ref), image);
    return image;
  });
}

/** The stored image of `ref`, if it and every one of its layers are in the store. */
export async function readImage(store: ImageStore, ref: string): Promise<StoredImage | undefined> {
  const image = await readImageRecord(store.refFile(ref));
  if (!image) return undefined;
  const complete = await Promise.all(image.layers.map((digest) => exists(store.layer(digest))));
  return complete.every(Boolean) ? image : undefined;
}

/**
 * Read as absent, a damaged reference record would let `images prune` take its layers from a running
 * container's image; removed, the image is simply pulled again when a project needs it.
 */
const imageRecordFix = (file: string) => `remove it (rm -r ${file}) and pull the image again (\`corral pull\`, or the next \`corral up\`)`;

/** One reference record of the store; undefined when it was removed since the dir was listed. */
function readImageRecord(file: string): Promise<StoredImage | undefined> {
  return readStateJson<StoredImage>(file, { fix: imageRecordFix(file), isValid: (value) => isRecord(value) && typeof value.ref === 'string' && Array.isArray(value.layers), shape: 'an image record (ref, layers)' });
}

export async function listImages(store: ImageStore): Promise<StoredImage[]> {
  const files = (await namesInDir(store.refs)).filter((file) => file.endsWith('.json'));
  const images = await Promise.all(files.map((file) => readImageRecord(path.join(store.refs, file))));
  return images.filter((image): image is StoredImage => image !== undefined).sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

/** Unpacked size of a layer, from the record its unpack left (measured now when there is none). */
export async function layerSize(store: ImageStore, digest: string): Promise<number> {
  const recorded = (await readLayerInfo(store.layer(digest)))?.size;
  if (recorded !== undefined) return recorded;
  const { execa } = await import('execa');
  const du = await execa('du', ['-sb', store.layer(digest)], { reject: false });
  return Number.parseInt(String(du.stdout), 10) || 0;
}
