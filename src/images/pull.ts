import { link, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { namesInDir, pathExists } from '../state/read.js';
import path from 'node:path';
import { ImageError } from './errors.js';
import { plainReporter, type PullReporter } from './progress.js';
import { importLayout, readImage, type ImageStore, type OciManifest, type StoredImage } from './store.js';

// Getting an image into the store: skopeo copies any source it knows (a registry, an OCI layout,
// an oci-archive or docker-archive tarball) into a temporary OCI layout, which the store imports,
// verifying every blob. Credentials come from skopeo's usual auth files. Layers the store already
// has are linked into the temporary layout first, so skopeo does not download them again.

export type PullPolicy = 'missing' | 'always' | 'never';

export interface PullOptions {
  /** false: talk to a registry over plain HTTP or with an unverified certificate. */
  readonly tlsVerify?: boolean;
  /** Finished lines only; ignored when a reporter is given. */
  readonly onProgress?: (line: string) => void;
  readonly reporter?: PullReporter;
}

/** The skopeo transport for an image reference: explicit transports as written, else a registry. */
export function skopeoSource(ref: string): string {
  return /^(oci|oci-archive|docker-archive|docker|dir):/.test(ref) ? ref : `docker://${ref}`;
}

/** skopeo's last words, without its log decoration. */
function skopeoFailure(stderr: string): string {
  const last = stderr.trim().split('\n').pop() ?? '';
  return /msg="(.*)"$/.exec(last)?.[1]?.replace(/\\"/g, '"') ?? last;
}

/** Layer digests and sizes of the image for this machine, when the source tells them cheaply. */
async function layersOf(source: string, flags: readonly string[]): Promise<{ digest: string; size?: number }[]> {
  const { execa } = await import('execa');
  const raw = await execa('skopeo', ['inspect', '--raw', ...flags, source], { reject: false, timeout: 120_000 });
  if (raw.exitCode === 0) {
    const manifest = JSON.parse(String(raw.stdout)) as OciManifest;
    if (manifest.layers) return manifest.layers.map((layer) => ({ digest: layer.digest, size: layer.size }));
  }
  // An index: skopeo picks this machine's manifest itself.
  const inspect = await execa('skopeo', ['inspect', '--no-tags', ...flags, source], { reject: false, timeout: 120_000 });
  if (inspect.exitCode !== 0) return [];
  return ((JSON.parse(String(inspect.stdout)) as { Layers?: string[] }).Layers ?? []).map((digest) => ({ digest }));
}


/** Leftovers of pulls and builds whose process died (`pull-<pid>-…`, `build-<pid>-…`): never trusted, removed when seen. */
export async function removeDeadPulls(store: ImageStore): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await namesInDir(store.root)) {
    const pid = Number(/^(?:pull|build)-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || (await pathExists(`/proc/${pid}`))) continue;
    await rm(path.join(store.root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export async function pullImage(store: ImageStore, ref: string, options: PullOptions = {}): Promise<StoredImage> {
  const { execa } = await import('execa');
  const reporter = options.reporter ?? plainReporter(options.onProgress ?? (() => {}));
  await mkdir(store.root, { recursive: true, mode: 0o700 });
  await removeDeadPulls(store);
  const work = await mkdtemp(path.join(store.root, `pull-${process.pid}-`));
  const layout = path.join(work, 'layout');
  const downloading = new Set<string>();
  const watcher = setInterval(() => {
    for (const digest of downloading) {
      // Progress only: a look that fails tells nothing that skopeo itself will not.
      void pathExists(path.join(layout, 'blobs', digest.replace(':', '/'))).then((done) => {
        if (done && downloading.delete(digest)) reporter.layer(ref, digest, 'downloaded');
      }, () => {});
    }
  }, 250);
  try {
    reporter.line(`pulling ${ref}`);
    const source = skopeoSource(ref);
    const tls = source.startsWith('docker://') && options.tlsVerify === false ? ['--tls-verify=false'] : [];
    await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true, mode: 0o700 });
    for (const { digest, size } of await layersOf(source, tls)) {
      if (/^sha256:[0-9a-f]{64}$/.test(digest) && (await pathExists(store.layer(digest))) && (await pathExists(store.blob(digest)))) {
        await link(store.blob(digest), path.join(layout, 'blobs', digest.replace(':', '/'))).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
        reporter.layer(ref, digest, 'present', size);
      } else {
        downloading.add(digest);
        reporter.layer(ref, digest, 'downloading', size);
      }
    }
    const copyTls = tls.length > 0 ? ['--src-tls-verify=false'] : [];
    // Layers keep their digests (skopeo would gzip uncompressed ones), so those of a registry, an
    // archive and an OCI layout of one image are the same blobs and are stored once.
    const copy = await execa('skopeo', ['copy', '--quiet', '--dest-oci-accept-uncompressed-layers', ...copyTls, source, `oci:${layout}:image`], { reject: false, timeout: 3_600_000 });
    if (copy.exitCode !== 0) throw new ImageError(`cannot pull ${ref}: ${skopeoFailure(String(copy.stderr))} (check the name, the registry and its credentials${tls.length ? '' : '; --tls-verify false for a plain-HTTP registry'})`);
    for (const digest of downloading) reporter.layer(ref, digest, 'downloaded');
    downloading.clear();
    const image = await importLayout(store, layout, ref, { onLayer: (digest, step) => reporter.layer(ref, digest, step) });
    reporter.line(`✔ ${ref}  pulled (${image.id.slice(7, 19)}, ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'})`);
    return image;
  } finally {
    clearInterval(watcher);
    reporter.finished(ref);
    await rm(work, { recursive: true, force: true });
  }
}

/** The image as the pull policy wants it: from the store, or pulled. */
export async function ensureImage(store: ImageStore, ref: string, policy: PullPolicy, options: PullOptions = {}): Promise<StoredImage> {
  const stored = policy === 'always' ? undefined : await readImage(store, ref);
  if (stored) return stored;
  if (policy === 'never') throw new ImageError(`image ${ref} is not in the local store and pull_policy is never (run \`corral pull\`, or set pull_policy: missing)`, { invalidInput: true });
  return pullImage(store, ref, options);
}
