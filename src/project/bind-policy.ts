import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { corralOwnDirs } from '../state/paths.js';
import type { Mount } from './model.js';
import { errorAt, type ParsedFile, type PathSegment } from './parsed-file.js';

// Which host paths a container may bind. Corral's own run and state dirs never: a container that sees
// them sees other containers' state, and one that writes them can make Corral run anything as root.
// A read-write bind of /, /proc or /sys (or of a directory holding Corral's state) only when the
// container is privileged anyway; read-only ones stay allowed, monitoring tools need them. Each bind
// is judged where it really leads, every symlink followed, since that is what the kernel mounts.

const MAX_LINKS = 40;
const KERNEL_FILESYSTEMS = ['/proc', '/sys'];

/** `inner` is `outer` or lies inside it (path-wise: /run/corral does not hold /run/corral-subnets). */
export const isWithin = (inner: string, outer: string) => inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);

/**
 * Where a host path really leads, as `realpath -m` says: every symlink followed, dangling ones too;
 * what does not exist (yet) is kept as written. Throws on a symlink loop.
 */
export function realHostPath(file: string): string {
  let current = '/';
  const pending = path.resolve(file).split('/').filter(Boolean);
  for (let links = 0; pending.length > 0;) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch (error) {
      // Missing (or not readable by whoever validates): what the rest names is where it will be made.
      if (!['ENOENT', 'ENOTDIR', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      return path.resolve(next, ...pending);
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`${file} has too many levels of symbolic links (ELOOP)`);
    const target = readlinkSync(next);
    if (target.startsWith('/')) current = '/';
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return current;
}

export interface BindRequest {
  /** The bind source where it really leads (realHostPath). */
  readonly source: string;
  readonly readOnly: boolean;
  readonly privileged: boolean;
  /** Corral's own dirs, each where it really leads. */
  readonly ownDirs: readonly string[];
}

export interface BindRefusal {
  readonly what: string;
  readonly hint: string;
}

/** Corral's own dirs (defaults and active ones) where they really lead, for `bindRefusal`. */
export function realOwnDirs(dirs?: Parameters<typeof corralOwnDirs>[0]): string[] {
  return [...new Set(corralOwnDirs(dirs).map(realHostPath))];
}

/** Why a bind must not be mounted, or undefined when it may. */
export function bindRefusal({ source, readOnly, privileged, ownDirs }: BindRequest): BindRefusal | undefined {
  const own = ownDirs.find((dir) => isWithin(source, dir));
  if (own) {
    return {
      what: `bind source ${source} is inside Corral's own state (${own}), which no container may see or change`,
      hint: 'bind another directory; Corral\'s run and state dirs are refused even read-only and privileged',
    };
  }
  if (readOnly || privileged) return undefined;
  const fix = 'mount it read-only (:ro or read_only: true), or set privileged: true if the container really must write there';
  const kernel = KERNEL_FILESYSTEMS.find((dir) => isWithin(source, dir));
  if (kernel) return { what: `read-write bind of ${source} would let the container change the host's kernel state (${kernel})`, hint: fix };
  if (source === '/') return { what: 'read-write bind of / would let the container change the whole host', hint: fix };
  const held = ownDirs.find((dir) => isWithin(dir, source));
  if (held) return { what: `read-write bind of ${source} would let the container change Corral's own state in ${held}`, hint: fix };
  return undefined;
}

/** The loader's check: the first bind of a container that must not be mounted, as a ProjectError at its volumes entry. */
export function checkBindMounts(options: { mounts: readonly Mount[]; privileged: boolean; at: readonly PathSegment[]; parsed: ParsedFile; ownDirs: readonly string[] }): void {
  options.mounts.forEach((mount, index) => {
    if (mount.type !== 'bind') return;
    const where = [...options.at, index];
    let source: string;
    try {
      source = realHostPath(mount.source);
    } catch (error) {
      throw errorAt(options.parsed, where, `bind source ${mount.source}: ${(error as Error).message}`, 'fix the symbolic links of the path, or bind another one');
    }
    const refusal = bindRefusal({ source, readOnly: mount.readOnly, privileged: options.privileged, ownDirs: options.ownDirs });
    if (refusal) throw errorAt(options.parsed, where, refusal.what, refusal.hint);
  });
}
