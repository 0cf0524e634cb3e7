import path from 'node:path';

// One error class for the state layer: which file could not be written, why in the system's words,
// and what the user can do about it. The state written before stays as it was (see atomic.ts).

const REMEDIES: Readonly<Record<string, (dir: string) => string>> = {
  ENOSPC: (dir) => `free space on the file system of ${dir} (df -h ${dir}), then run the command again`,
  EDQUOT: (dir) => `raise the disk quota or free space on the file system of ${dir}, then run the command again`,
  EROFS: (dir) => `the file system of ${dir} is mounted read-only; remount it read-write (mount -o remount,rw MOUNTPOINT), then run the command again`,
  EACCES: (dir) => `run corral as root and check the owner and mode of ${dir}`,
  EPERM: (dir) => `run corral as root and check the owner, mode and attributes (lsattr) of ${dir}`,
};

export class StateWriteError extends Error {
  override readonly name = 'StateWriteError';
  /** The file that could not be written. */
  readonly path: string;
  /** The errno name: ENOSPC, EROFS, ... */
  readonly code: string;
  readonly hint: string;

  constructor(file: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'EIO';
    // Node says "ENOSPC: no space left on device, write"; keep the system's words only.
    const reason = cause.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
    super(`cannot write ${file}: ${reason} (${code}); the state written before is kept`, { cause });
    this.path = file;
    this.code = code;
    const dir = path.dirname(file);
    this.hint = (REMEDIES[code] ?? ((where: string) => `check the file system of ${where} (dmesg may say more), then run the command again`))(dir);
  }

  override toString(): string {
    return `${this.message} (${this.hint})`;
  }
}
