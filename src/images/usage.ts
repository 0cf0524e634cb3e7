import { readdir, readFile } from 'node:fs/promises';
import { isRecord, namesInDir, readStateJson, whenMissing } from '../state/read.js';
import path from 'node:path';
import type { ImageStore } from './store.js';

// Who uses what, read from the host rather than remembered. A container names the image it was
// created from in its bundle's annotations (the bundle lives from create to remove, whatever the
// container's state, and a crashed run's bundles are still there). A layer is in use while an
// overlay has it as a lower dir, which the kernel's mount table tells.

const decode = (text: string) => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/** Layer dirs of the store that a mounted overlay has as a lower dir. */
export async function mountedLayerDirs(store: ImageStore, mountinfo?: string): Promise<Set<string>> {
  const text = mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8'));
  const prefix = `${store.layers}/`;
  const dirs = new Set<string>();
  for (const line of text.split('\n')) {
    const [fstype, , options = ''] = (line.split(' - ')[1] ?? '').split(' ');
    if (fstype !== 'overlay') continue;
    const lower = /(?:^|,)lowerdir=([^,]*)/.exec(options)?.[1];
    for (const dir of lower ? decode(lower).split(':') : []) if (dir.startsWith(prefix)) dirs.add(dir);
  }
  return dirs;
}

/**
 * A bundle's spec, for the image it was made from; none for a create cut short. Taken for "no image"
 * when damaged, it would let `images rm`/`prune` take the image from under a running container.
 */
function readBundleSpec(file: string): Promise<{ annotations?: Record<string, string> } | undefined> {
  return readStateJson(file, { fix: `the bundle is damaged; run \`corral down\` for its project, then \`corral up\``, isValid: isRecord, shape: 'an OCI runtime spec' });
}

/** Containers of every project under the run dir, as `project/pod/container`, by the image reference they were created from. */
export async function containersByImage(runDir: string): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  for (const project of await namesInDir(runDir)) {
    const bundles = path.join(runDir, project, 'containers');
    // ENOTDIR: a file in the run dir (such as a lock of its own), not a project.
    for (const id of await readdir(bundles).catch(whenMissing([] as string[], ['ENOTDIR']))) {
      const spec = await readBundleSpec(path.join(bundles, id, 'config.json'));
      const annotations = spec?.annotations ?? {};
      const ref = annotations['corral.image'];
      if (!ref) continue;
      users.set(ref, [...(users.get(ref) ?? []), `${annotations['corral.project']}/${annotations['corral.pod']}/${annotations['corral.container']}`].sort());
    }
  }
  return users;
}
