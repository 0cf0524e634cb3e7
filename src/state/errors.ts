import path from 'node:path';

// The state layer's errors: which file could not be written or read, why in the system's words, and
// what the user can do about it. The state written before stays as it was (see atomic.ts).

const REMEDIES: Readonly<Record<string, (dir: string) => string>> = {
  ENOSPC: (dir) => `free space on the file system of ${dir} (df -h ${dir}), then run the command again`,
  EDQUOT: (dir) => `raise the disk quota or free space on the file system of ${dir}, then run the command again`,
  EROFS: (dir) => `the file system of ${dir} is mounted read-only; remount it read-write (mount -o remount,rw MOUNTPOINT), then run the command again`,
  EACCES: (dir) => `run corral as root and check the owner and mode of ${dir}`,
  EPERM: (dir) => `run corral as root and check the owner, mode and attributes (lsattr) of ${dir}`,
};

/** Node says "ENOSPC: no space left on device, write"; the system's words only: "no space left on device". */
function systemWords(error: NodeJS.ErrnoException): string {
  return error.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
}

export class StateWriteError extends Error {
  override readonly name = 'StateWriteError';
  /** The file that could not be written. */
  readonly path: string;
  /** The errno name: ENOSPC, EROFS, ... */
  readonly code: string;
  readonly hint: string;

  constructor(file: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'EIO';
    super(`cannot write ${file}: ${systemWords(cause)} (${code}); the state written before is kept`, { cause });
    this.path = file;
    this.code = code;
    const dir = path.dirname(file);
    this.hint = (REMEDIES[code] ?? ((where: string) => `check the file system of ${where} (dmesg may say more), then run the command again`))(dir);
  }

  override toString(): string {
    return `${this.message} (${this.hint})`;
  }
}

/** Where in `text` a JSON.parse error points, as "line L column C" (or "the end" when it ran out). */
export function jsonErrorPosition(text: string, error: Error): string {
  const at = /at position (\d+)/.exec(error.message);
  const position = at ? Number(at[1]) : /end of JSON/i.test(error.message) ? text.length : undefined;
  if (position === undefined) return 'an unknown place';
  if (position >= text.trimEnd().length) return `the end (${text.length} bytes: cut short?)`;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line} column ${before.length - before.lastIndexOf('\n')}`;
}

/**
 * The error of a state file that exists but cannot be used: unreadable (an errno), not JSON, or not
 * the shape Corral writes. It is never taken for "no such file": a corrupt record read as absent once
 * meant recreating running containers or leaking what the record named. `fix` says what really
 * repairs this file (removing some records costs something; the reader knows what).
 */
export class StateReadError extends Error {
  override readonly name = 'StateReadError';
  /** The file that could not be used. */
  readonly path: string;
  /** The errno name (EISDIR, EACCES, EIO, ...), or EINVAL for content that is not what Corral writes. */
  readonly code: string;
  readonly hint: string;

  constructor(opts: { file: string; fix: string; cause: unknown; problem?: string }) {
    const errno = opts.cause as NodeJS.ErrnoException;
    const unreadable = opts.problem === undefined;
    super(unreadable ? `cannot read ${opts.file}: ${systemWords(errno)} (${errno.code ?? 'EIO'})` : `${opts.file} is corrupt: ${opts.problem}`, { cause: opts.cause });
    this.path = opts.file;
    this.code = unreadable ? errno.code ?? 'EIO' : 'EINVAL';
    this.hint = opts.fix;
  }

  override toString(): string {
    return `${this.message} (${this.hint})`;
  }
}
