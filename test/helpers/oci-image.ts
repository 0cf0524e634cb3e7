import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

// Builds a small OCI image layout from the busybox rootfs, by hand: two uncompressed layers (the
// second deletes a file and makes a directory opaque, to exercise whiteouts) and a config.

export interface BuiltImage {
  readonly layout: string;
  readonly tag: string;
}

async function addBlob(layout: string, content: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(content).digest('hex');
  await writeFile(path.join(layout, 'blobs/sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

async function tarOf(dir: string): Promise<Buffer> {
  const result = await execa('tar', ['-C', dir, '--numeric-owner', '--sort=name', '-cf', '-', '.'], { encoding: 'buffer' });
  return Buffer.from(result.stdout);
}

/** `extraLayers` small layers (each adds /layers/<n>) go between the two, for images with many layers. */
export async function buildBusyboxImage(rootfs: string, workDir: string, config: Record<string, unknown>, tag = 'v1', options: { extraLayers?: number } = {}): Promise<BuiltImage> {
  const layout = path.join(workDir, 'layout');
  await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true });
  const staging = await mkdtemp(path.join(workDir, 'layer-'));
  // Layer 1: the rootfs, plus a file and a directory that layer 2 takes away.
  await execa('cp', ['-a', `${rootfs}/.`, staging]);
  await mkdir(path.join(staging, 'data'), { recursive: true });
  await writeFile(path.join(staging, 'junk.txt'), 'to be deleted\n');
  await writeFile(path.join(staging, 'data/old.txt'), 'hidden by an opaque dir\n');
  const first = await tarOf(staging);
  await rm(staging, { recursive: true, force: true });
  // Layer 2: deletes junk.txt, replaces data/ wholesale, adds /etc/motd.
  const second = await mkdtemp(path.join(workDir, 'layer-'));
  await mkdir(path.join(second, 'data'), { recursive: true });
  await mkdir(path.join(second, 'etc'), { recursive: true });
  await writeFile(path.join(second, '.wh.junk.txt'), '');
  await writeFile(path.join(second, 'data/.wh..wh..opq'), '');
  await writeFile(path.join(second, 'data/new.txt'), 'new\n');
  await writeFile(path.join(second, 'etc/motd'), 'image-layer-2\n');
  const secondTar = await tarOf(second);
  await rm(second, { recursive: true, force: true });

  const extras: Buffer[] = [];
  for (let index = 1; index <= (options.extraLayers ?? 0); index++) {
    const extra = await mkdtemp(path.join(workDir, 'layer-'));
    await mkdir(path.join(extra, 'layers'));
    await writeFile(path.join(extra, 'layers', String(index)), `${index}\n`);
    extras.push(await tarOf(extra));
    await rm(extra, { recursive: true, force: true });
  }
  const tars = [first, ...extras, secondTar];
  const layers = [];
  for (const tar of tars) layers.push(await addBlob(layout, tar));
  const diffIds = tars.map((tar) => `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  const configBlob = await addBlob(layout, Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: diffIds },
  })));
  const manifest = await addBlob(layout, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer })),
  })));
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { layout, tag };
}

/** The digest of the image's first layer, as its manifest names it. */
export async function firstLayerDigest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(path.join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  return manifest.layers[0]!.digest;
}
