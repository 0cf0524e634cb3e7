import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { execa } from 'execa';
import { ImageError, importLayout, readImage, type ImageStore, type StoredImage } from './store.js';

// Getting an image into the store: skopeo copies any source it knows (a registry, an OCI layout,
// an oci-archive or docker-archive tarball) into a temporary OCI layout, which the store imports,
// verifying every blob. Credentials come from skopeo's usual auth files.

export type PullPolicy = 'missing' | 'always' | 'never';

export interface PullOptions {
  /** false: talk to a registry over plain HTTP or with an unverified certificate. */
  readonly tlsVerify?: boolean;
  readonly onProgress?: (line: string) => void;
}

/** The skopeo transport for an image reference: explicit transports as written, else a registry. */
export function skopeoSource(ref: string): string {
  return /^(oci|oci-archive|docker-archive|docker|dir):/.test(ref) ? ref : `docker://${ref}`;
}

export async function pullImage(store: ImageStore, ref: string, options: PullOptions = {}): Promise<StoredImage> {
  await mkdir(store.root, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(store.root, 'pull-'));
  try {
    options.onProgress?.(`pulling ${ref}`);
    const tls = options.tlsVerify === false ? ['--src-tls-verify=false'] : [];
    const source = skopeoSource(ref);
    // On a terminal skopeo shows its progress per layer; elsewhere it stays quiet.
    const tty = process.stdout.isTTY === true;
    const copy = await execa('skopeo', ['copy', ...(tty ? [] : ['--quiet']), ...(source.startsWith('docker://') ? tls : []), source, `oci:${path.join(work, 'layout')}:image`], {
      reject: false, timeout: 600_000, stdout: tty ? 'inherit' : 'pipe',
    });
    if (copy.exitCode !== 0) throw new ImageError(`cannot pull ${ref}: ${String(copy.stderr).trim().split('\n').pop()}`);
    const image = await importLayout(store, path.join(work, 'layout'), ref);
    options.onProgress?.(`✔ ${ref}  pulled (${image.id.slice(7, 19)}, ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'})`);
    return image;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The image as the pull policy wants it: from the store, or pulled. */
export async function ensureImage(store: ImageStore, ref: string, policy: PullPolicy, options: PullOptions = {}): Promise<StoredImage> {
  const stored = policy === 'always' ? undefined : await readImage(store, ref);
  if (stored) return stored;
  if (policy === 'never') throw new ImageError(`image ${ref} is not in the local store and pull_policy is never; run \`corral pull\` or change pull_policy`);
  return pullImage(store, ref, options);
}
