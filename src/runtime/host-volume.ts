import { mkdir, writeFile } from 'node:fs/promises';
import type { HostVolume, Mount, Project } from '../project/model.js';
import { ProjectError } from '../project/errors.js';
import { hostVolumePaths, type Dirs } from '../state/paths.js';
import { isRecord, namesInDir, pathExists, readStateJson } from '../state/read.js';
import { VOLUME_NAME } from '../project/name.js';
import { withProjectLock } from '../state/lock.js';
import type { RuntimeContext } from './context.js';
import { RuntimeError } from './errors.js';

// Host volumes: named volumes that belong to the host rather than to one project, as docker's do,
// so that several projects can use one (compose's `name:` and `external: true`). Each is a dir of
// the state dir's volumes/ (state/paths.ts hostVolumePaths) with its data in _data, like a project's
// own volume, and a record of who made it: `corral volume create` (nobody's: only `volume rm` removes
// it) or a project's `up` for a `name:` of its definition (that project's `down -v` removes it when
// no other project's container uses it). An external one is never made by `up`: a new empty volume
// in place of the data the user meant would be the worst surprise.

/** Who made a host volume and when. */
export interface HostVolumeRecord {
  /** When it was made (ISO 8601). */
  readonly created: string;
  /** The project whose `up` made it for a `name:`; absent: `corral volume create` made it. */
  readonly createdBy?: string;
}

const isHostVolumeRecord = (value: unknown): value is HostVolumeRecord => isRecord(value) && typeof value.created === 'string' && (value.createdBy === undefined || typeof value.createdBy === 'string');

const recordFix = (name: string) => `remove the file, or the volume with \`corral volume rm ${name}\` once no container uses it (its data goes with it)`;

/** The host volume's record, or undefined when the host has no volume of that name. */
export async function readHostVolume(dirs: Dirs, name: string): Promise<HostVolumeRecord | undefined> {
  const paths = hostVolumePaths(dirs);
  const record = await readStateJson<HostVolumeRecord>(paths.record(name), { fix: recordFix(name), isValid: isHostVolumeRecord, shape: 'a host volume record (created, createdBy)' });
  // A volume whose record is missing (made by hand, or a crash between the two writes) still holds data.
  return record ?? ((await pathExists(paths.data(name))) ? { created: new Date(0).toISOString() } : undefined);
}

/** The names of the host's volumes, sorted. */
export async function hostVolumeNames(dirs: Dirs): Promise<string[]> {
  return (await namesInDir(hostVolumePaths(dirs).dir)).filter((name) => VOLUME_NAME.test(name)).sort();
}

/**
 * Makes the host volume when it is not there yet, recording who made it; an existing one is kept as
 * it is, as docker keeps it. Returns whether it was made now (so that its owner can be set).
 */
export async function ensureHostVolume(dirs: Dirs, name: string, createdBy: string | undefined): Promise<boolean> {
  const paths = hostVolumePaths(dirs);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const made = (await mkdir(paths.data(name), { recursive: true, mode: 0o755 })) !== undefined;
  const record: HostVolumeRecord = { created: new Date().toISOString(), ...(createdBy === undefined ? {} : { createdBy }) };
  // 'wx': the first maker's record stays; a second up of another project that names it only uses it.
  await writeFile(paths.record(name), `${JSON.stringify(record)}\n`, { flag: 'wx', mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return made;
}

/** Runs `work` holding the host volumes' lock: removing one waits for the other commands that remove one. */
export function withHostVolumes<T>(dirs: Dirs, purpose: string, work: () => Promise<T>): Promise<T> {
  return withProjectLock(hostVolumePaths(dirs).lock, work, undefined, { purpose });
}

/** The host dir a named mount shows: its host volume's data, else the project's own volume's. */
export function namedVolumeSource(context: RuntimeContext, mount: Pick<Mount, 'volume' | 'host'>): string {
  return mount.host === undefined ? context.paths.volume(mount.volume!) : hostVolumePaths(context.dirs).data(mount.host.name);
}

const missingFix = (name: string) => `make it first: corral volume create ${name} (or up the project that names it), or remove external: true to have the project make its own`;

/** The error of a project that uses an external volume the host does not have: at its line, with how to make it. */
function missingExternalVolume(volume: string, host: HostVolume): ProjectError {
  return new ProjectError(`volume ${volume} is external, and this host has no volume ${host.name}`, host.where, missingFix(host.name));
}

/** Refuses, before anything starts, an external volume that the host does not have. */
export async function checkExternalVolumes(context: RuntimeContext, project: Project): Promise<void> {
  const missing: ProjectError[] = [];
  for (const volume of project.volumes) {
    if (volume.type === 'named' && volume.host?.external && !(await readHostVolume(context.dirs, volume.host.name))) missing.push(missingExternalVolume(volume.name, volume.host));
  }
  if (missing.length > 0) throw ProjectError.inFileOrder(missing);
}

/**
 * The data dir of a host volume for a container being made: an external one must be there (it went
 * since `up` checked: `volume rm` meanwhile); another is made when missing, as `up` makes a project's.
 */
export async function prepareHostVolume(context: RuntimeContext, resource: string, mount: Mount & { host: NonNullable<Mount['host']> }): Promise<{ source: string; made: boolean }> {
  const source = hostVolumePaths(context.dirs).data(mount.host.name);
  if (!mount.host.external) return { source, made: await ensureHostVolume(context.dirs, mount.host.name, context.project) };
  if (!(await pathExists(source))) {
    throw new RuntimeError({ resource, step: 'create', message: `external volume ${mount.host.name} (for ${mount.target}) is not on this host`, hint: missingFix(mount.host.name) });
  }
  return { source, made: false };
}
