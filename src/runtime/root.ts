import { pathExists } from '../state/read.js';
import { flattenLayers } from '../images/flatten.js';
import { log } from '../log.js';
import * as native from '../native.js';

// A container's root: an overlay of its image's layers (or of its rootfs dir) under a private upper
// dir. Where overlayfs cannot be used (not in the kernel, an upper dir on a filesystem it refuses,
// more layers than one mount can name), a container of an image gets a private copy of the merged
// layers instead, and a warning says so: it costs the disk of a whole image and time at each create.

/** errno codes that mean "no overlay here", as opposed to a mistake such as a missing dir. */
const OVERLAY_IMPOSSIBLE = new Set(['ENODEV', 'EINVAL', 'EOPNOTSUPP', 'E2BIG']);

export interface RootLayout {
  readonly resource: string;
  /** Lower dirs, top first. */
  readonly lower: readonly string[];
  readonly upper: string;
  readonly work: string;
  /** Where the root is mounted (the bundle's rootfs). */
  readonly target: string;
  /** Where the copy goes when overlayfs cannot be used; undefined: no copy (a rootfs dir is used as it is). */
  readonly copy?: string;
}

export async function mountContainerRoot(root: RootLayout): Promise<'overlay' | 'copy'> {
  try {
    await native.mountOverlay({ lower: root.lower, upper: root.upper, work: root.work, target: root.target });
    return 'overlay';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!root.copy || !OVERLAY_IMPOSSIBLE.has(code)) throw error;
    log.warn(`${root.resource}: overlayfs cannot make its root (${code}: ${(error as Error).message}); it runs on a private copy of its image instead, which takes the image's size on disk again`);
  }
  if (!(await pathExists(root.copy))) await flattenLayers([...root.lower].reverse(), root.copy);
  await native.mountBind(root.copy, root.target);
  return 'copy';
}
