import { mkdir } from 'node:fs/promises';

// Making a project's dirs while a `down` may be removing them. Node's recursive mkdir stats a dir it
// found existing, and fails with ENOENT when a down removed it in between (seen in CI's race test:
// `up` failed with "ENOENT: mkdir /run/corral/<project>"). The dir is then simply made again.

const ATTEMPTS = 100;

/** `mkdir -p dir`, made again when a concurrent removal makes it vanish halfway. */
export async function makeDirDespiteRemoval(dir: string, mode: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir, { recursive: true, mode });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= ATTEMPTS) throw error;
    }
  }
}
