import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { ImageError, importLayout, type ImageStore, type StoredImage } from './store.js';

// `build:` builds with buildah (chroot isolation, as it works on this kind of host without a
// daemon), then moves the image into Corral's own store through an OCI layout and drops it from
// buildah's storage, so only one copy remains.

export async function buildImage(store: ImageStore, ref: string, build: { context: string; dockerfile: string }, onProgress?: (line: string) => void): Promise<StoredImage> {
  await mkdir(store.root, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(store.root, `build-${process.pid}-`));
  const tag = `localhost/corral-build-${path.basename(work).toLowerCase()}`;
  try {
    onProgress?.(`building ${ref} from ${build.context}`);
    const bud = await execa('buildah', ['bud', '--isolation', 'chroot', '--ulimit', 'nofile=1024:1024', '--quiet', '-f', path.join(build.context, build.dockerfile), '-t', tag, build.context], { reject: false, all: true, timeout: 1_800_000 });
    if (bud.exitCode !== 0) throw new ImageError(`building ${ref} failed: ${String(bud.all).trim().split('\n').slice(-5).join(' | ')}`);
    const push = await execa('buildah', ['push', '--quiet', tag, `oci:${path.join(work, 'layout')}:image`], { reject: false });
    if (push.exitCode !== 0) throw new ImageError(`exporting the build of ${ref} failed: ${String(push.stderr).trim()}`);
    const image = await importLayout(store, path.join(work, 'layout'), ref);
    onProgress?.(`✔ ${ref}  built (${image.id.slice(7, 19)})`);
    return image;
  } finally {
    await execa('buildah', ['rmi', '--force', tag], { reject: false });
    await rm(work, { recursive: true, force: true });
  }
}
