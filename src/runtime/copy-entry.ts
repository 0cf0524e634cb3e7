import type { Readable } from 'node:stream';

// What `corral cp` moves: a tree as a stream of entries, parents before their children, whatever it
// is read from (a directory on the host, one inside a container, a tar archive) and written to.

export type EntryKind = 'file' | 'directory' | 'symlink';

export interface CopyEntry {
  /** Relative, '/'-separated: the top entry's name, then the names below it. */
  readonly path: string;
  readonly kind: EntryKind;
  /** Permission bits with setuid, setgid and sticky (0o7777). */
  readonly mode: number;
  /** Owners as the tree's own users see them (inside a container: its ids). */
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
  /** Bytes of a file; 0 for the others. */
  readonly size: number;
  /** What a symlink points at, as it is written (never resolved). */
  readonly linkTarget?: string;
  /** A file's bytes: called at most once, and read to the end before the next entry is asked for. */
  readonly content?: () => Readable;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** What a reader passes over, and why (a device, a socket, a hard link in an archive): said, never silent. */
export type OnSkipped = (entryPath: string, why: string) => void;
