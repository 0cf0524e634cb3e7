import { chown, mkdir, stat } from 'node:fs/promises';
import type { Mount } from '../project/model.js';
import { bindRefusal, isWithin, realHostPath } from '../project/bind-policy.js';
import { hostIdOf, type ResolvedUserNamespace } from './userns.js';
import { resolveInContainer } from './subpath.js';
import { isRecord, readStateJson } from '../state/read.js';

// The runtime's half of the bind policy (project/bind-policy.ts): the loader judged the path as the
// file was loaded; here it is judged again, resolved once to where it really leads, and that real
// path is what the runtime mounts. After `runc create`, before anything runs, each mount must show
// the very inode that was judged: a directory swapped for a symlink in between shows another one.

/** A mount's source as judged and resolved: what must be seen at `target` inside the container. */
export interface JudgedSource {
  readonly what: string;
  readonly target: string;
  readonly dev: number;
  readonly ino: number;
}

export async function judgedSource(what: string, source: string, target: string): Promise<JudgedSource> {
  const { dev, ino } = await stat(source);
  return { what, target, dev, ino };
}

/**
 * The real host path to mount for a bind, refused as the loader refuses it; a missing source is
 * created when the mount asks (compose's short form does), owned by the container's root.
 */
export async function prepareBindSource(mount: Mount, options: { privileged: boolean; ownDirs: readonly string[]; userns?: ResolvedUserNamespace }): Promise<string> {
  const source = realHostPath(mount.source);
  const refusal = bindRefusal({ source, readOnly: mount.readOnly, privileged: options.privileged, ownDirs: options.ownDirs });
  if (refusal) throw new Error(`${refusal.what}; ${refusal.hint}`);
  const exists = await stat(source).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    return false;
  });
  if (exists) return source;
  if (!mount.createHostPath) throw new Error(`bind mount source ${mount.source} does not exist; create it, fix the path, or set create_host_path: true on the mount`);
  await mkdir(source, { recursive: true, mode: 0o755 });
  // As for a new named volume: the root of a user-namespaced container can write to what it asked for.
  if (options.userns) await chown(source, hostIdOf(options.userns.uidMappings, 0), hostIdOf(options.userns.gidMappings, 0));
  return source;
}

/** What a container's mounts must show, kept in its bundle so that a restart checks the same. */
export interface JudgedMounts {
  readonly judged: readonly JudgedSource[];
  /** Every mount target in mount order: a mount hidden under a later one cannot be seen. */
  readonly targets: readonly string[];
}

/** The bundle's judged mounts; none for a bundle made before Corral kept them. */
export async function readJudgedMounts(file: string): Promise<JudgedMounts> {
  // What was judged at create cannot be judged again from a damaged record: the container is made anew.
  const fix = `the bundle of the container is damaged; run \`corral down\`, then \`corral up\``;
  return (await readStateJson<JudgedMounts>(file, { fix, isValid: isRecord, shape: 'the judged mounts' })) ?? { judged: [], targets: [] };
}

/** Checks, in the created container `pid`, that each judged mount that can be seen shows the judged inode. */
export async function verifyMountedSources(pid: number, { judged, targets }: JudgedMounts): Promise<void> {
  for (const source of judged) {
    const later = targets.slice(targets.lastIndexOf(source.target) + 1);
    if (later.some((target) => isWithin(source.target, target))) continue;
    const seen = await stat(await resolveInContainer(pid, source.target));
    if (seen.dev !== source.dev || seen.ino !== source.ino) {
      throw new Error(`${source.what} changed between its check and its mount at ${source.target} (a symlink swapped in?); the container was not started`);
    }
  }
}
