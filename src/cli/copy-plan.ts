import path from 'node:path';
import type { EntryKind } from '../runtime/copy-entry.js';
import { UsageError } from './errors.js';

// What `corral cp SRC DST` means, by docker cp's rules (docker/cli cli/command/container/cp.go,
// moby pkg/archive/copy.go), decided from what is at both ends before anything is written:
// - a file onto a file replaces it; into a directory it keeps its name; onto a missing path it takes
//   that name (whose directory must exist; a path ending in "/" must be an existing directory);
// - a directory into a directory keeps its name (`SRC/.`: only its contents go); onto a missing path
//   it is made with that name; onto a file it is refused.

/** One side of `cp` as typed: `-` (a tar stream), a host path, or `pod/container:path` / `service:path`. */
export type CopyArgument =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'host'; readonly path: string }
  | { readonly kind: 'container'; readonly resource: string; readonly path: string };

// A name as pods and containers have them, then ':'. A host path with a colon in its first component
// is read as a container's, as docker does; `./a:b` says it is a host path.
const CONTAINER_ARGUMENT = /^([a-z0-9][a-z0-9_-]*(?:\/[a-z0-9][a-z0-9_-]*)?):(.*)$/;

export function parseCopyArgument(argument: string): CopyArgument {
  if (argument === '-') return { kind: 'stdio' };
  const match = CONTAINER_ARGUMENT.exec(argument);
  if (!match) return { kind: 'host', path: argument };
  // Inside a container, a relative path starts at its root, as in docker cp.
  return { kind: 'container', resource: match[1]!, path: match[2]!.startsWith('/') ? match[2]! : `/${match[2]!}` };
}

/** What is at the source path; `path` as typed (its trailing "/" or "/." matter). */
export interface CopySource {
  readonly path: string;
  readonly kind: EntryKind;
}

/** What is at the destination path (a final symlink followed) and at its directory. */
export interface CopyDestination {
  readonly path: string;
  readonly kind: EntryKind | 'other' | undefined;
  readonly parentKind: EntryKind | 'other' | undefined;
}

/** Where the tree goes: its top entry is `name` in the directory `into` ('.' for only what is in it). */
export interface CopyPlan {
  readonly into: string;
  readonly name: string;
}

/** Whether a source path asks for a directory's contents only: `dir/.`, or the root itself. */
function contentsOnly(sourcePath: string): boolean {
  return /(^|\/)\.$/.test(sourcePath) || path.posix.normalize(sourcePath) === '/';
}

/** The docker cp decision for one copy; a UsageError names the side and says what to type instead. */
export function planCopy(source: CopySource, destination: CopyDestination, labels: { source: string; destination: string }): CopyPlan {
  const onlyContents = contentsOnly(source.path);
  if ((source.path.endsWith('/') || onlyContents) && source.kind !== 'directory') {
    throw new UsageError(`${labels.source}${source.path} is not a directory`, 'drop the trailing "/" or "/." to copy the file itself');
  }
  const sourceName = path.posix.basename(path.posix.normalize(source.path));
  const target = path.posix.normalize(destination.path);
  if (destination.kind === 'directory') return { into: target, name: onlyContents ? '.' : sourceName };
  if (destination.kind !== undefined) {
    if (source.kind === 'directory') throw new UsageError(`cannot copy the directory ${labels.source}${source.path} onto ${labels.destination}${destination.path}, which is not a directory`, 'name a directory, or a path that does not exist yet');
    return { into: path.posix.dirname(target), name: path.posix.basename(target) };
  }
  if (destination.path.endsWith('/') && source.kind !== 'directory') {
    throw new UsageError(`the destination directory ${labels.destination}${destination.path} does not exist`, 'make it first, or drop the trailing "/" to copy to a file of that name');
  }
  if (destination.parentKind !== 'directory') {
    throw new UsageError(`the directory of ${labels.destination}${destination.path} does not exist`, 'make it first, or copy into an existing directory');
  }
  return { into: path.posix.dirname(target), name: path.posix.basename(target) };
}
