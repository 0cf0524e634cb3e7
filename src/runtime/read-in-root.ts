import { closeSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as native from '../native.js';

// A small file of an image or a container read as the container would see it: resolved inside its
// root, so an image whose /etc/passwd is a link to /etc/shadow (or whose /etc is a link to the host's
// /etc) gives the image's file or nothing, never the host's.

/** The text of `file` (a path inside `root`), or undefined when the root has no such file. */
export async function readFileInRoot(root: string, file: string): Promise<string | undefined> {
  const rootHandle = await open(root, 'r');
  try {
    const fd = await native.openInRoot(rootHandle.fd, file, { flags: ['read'] }).catch((error: NodeJS.ErrnoException) => {
      // Not there, a path through something that is not a directory, or a loop of links (an /etc
      // linked to /etc, which is itself in the root): the container could not read it either.
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'ELOOP') return undefined;
      throw error;
    });
    if (fd === undefined) return undefined;
    try {
      // Small files (passwd, group) read at once; the descriptor is the very file resolved above.
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } finally {
    await rootHandle.close();
  }
}
