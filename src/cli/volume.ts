import type { Command } from 'commander';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RuntimeContext } from '../runtime/context.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { isRecord, namesInDir, pathExists, readStateJson } from '../state/read.js';
import { isValidProjectName } from '../project/name.js';
import { UsageError } from './errors.js';
import { formatTable } from './table.js';
import { printInspected, registerLsAndInspect } from './listing.js';
import { targetProjectName, type TargetOptions, withProjectOptions } from './target.js';

// `corral volume ls|inspect|create|rm`, as docker compose and podman users know them. A named volume
// is a dir of its project's state dir (volumes/NAME/_data), made by `up` on first use and kept by
// `down`; so `ls` and `inspect` read every project of the state dir, and which containers use a
// volume is read from their bundles (every container that exists, running or not, has one).

interface VolumeOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
  readonly force?: boolean;
}

export interface VolumeRow {
  readonly project: string;
  readonly name: string;
  /** The dir mounted into containers: volumes/NAME/_data of the project's state dir. */
  readonly mountpoint: string;
  /** When the volume's dir was made (ISO 8601). */
  readonly created: string;
  /** The containers that mount it, as `pod/container`, running or not. */
  readonly usedBy: readonly string[];
}

/** Docker's rule for a volume name; it keeps `create` inside the project's volumes dir. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The volume a mount source belongs to: volumes/NAME/_data or below it (a subpath); else undefined. */
export function volumeOfSource(volumesDir: string, source: string): string | undefined {
  const [name, data] = path.relative(volumesDir, source).split(path.sep);
  return name && name !== '..' && data === '_data' ? name : undefined;
}

export interface VolumeRemovalPlan {
  readonly remove: readonly string[];
  /** Named but not there: an error without -f, skipped with it. */
  readonly missing: readonly string[];
  /** Used by a container: refused with or without -f. */
  readonly refused: readonly { readonly name: string; readonly usedBy: readonly string[] }[];
}

/** What `volume rm` does with each name: pure, so that nothing is removed when anything is refused. */
export function planVolumeRemoval(names: readonly string[], existing: readonly VolumeRow[]): VolumeRemovalPlan {
  const byName = new Map(existing.map((row) => [row.name, row]));
  const unique = [...new Set(names)];
  return {
    remove: unique.filter((name) => byName.get(name)?.usedBy.length === 0),
    missing: unique.filter((name) => !byName.has(name)),
    refused: unique.flatMap((name) => { const usedBy = byName.get(name)?.usedBy ?? []; return usedBy.length > 0 ? [{ name, usedBy }] : []; }),
  };
}

const bundleFix = 'run `corral down` (it removes containers without their bundles), then `corral up`';
interface BundleMounts { readonly mounts?: readonly { readonly source?: string }[] }
const isBundleConfig = (value: unknown): value is BundleMounts => isRecord(value) && (value.mounts === undefined || Array.isArray(value.mounts));

/** Volume name -> the containers that mount it: from each container's bundle, else (none yet) the applied project. */
async function volumeUsers(context: RuntimeContext): Promise<Map<string, string[]>> {
  const [{ observeProject }, { readAppliedProject }] = await Promise.all([import('../runtime/observe.js'), import('../project/applied-project.js')]);
  const [observed, applied] = await Promise.all([observeProject(context), readAppliedProject(context.paths.applied)]);
  const users = new Map<string, string[]>();
  for (const container of observed.containers) {
    const config = await readStateJson<BundleMounts>(context.paths.container(container.id).config, { fix: bundleFix, isValid: isBundleConfig, shape: 'an OCI bundle config (mounts)' });
    const fromBundle = config?.mounts?.flatMap((mount) => (mount.source === undefined ? [] : [volumeOfSource(context.paths.volumes, mount.source)])) ?? [];
    const fromApplied = config ? [] : (applied?.pods.find((pod) => pod.name === container.pod)?.containers.find((one) => one.name === container.name)?.mounts ?? [])
      .filter((mount) => mount.type === 'named').map((mount) => mount.volume);
    for (const volume of new Set([...fromBundle, ...fromApplied])) {
      if (volume !== undefined) users.set(volume, [...(users.get(volume) ?? []), `${container.pod}/${container.name}`]);
    }
  }
  return users;
}

/** When the dir was made: its birth time where the filesystem keeps one, else its last change. */
async function createdTime(dir: string): Promise<string> {
  const info = await stat(dir);
  return (info.birthtimeMs > 0 ? info.birthtime : info.ctime).toISOString();
}

/** The named volumes of one project, sorted by name. */
async function projectVolumes(project: string): Promise<VolumeRow[]> {
  const { openRuntime } = await import('../runtime/context.js');
  const context = await openRuntime(project, { readOnly: true });
  const names = (await namesInDir(context.paths.volumes)).sort();
  if (names.length === 0) return [];
  const users = await volumeUsers(context);
  return Promise.all(names.map(async (name) => ({
    project, name, mountpoint: context.paths.volume(name),
    created: await createdTime(path.dirname(context.paths.volume(name))),
    usedBy: users.get(name) ?? [],
  })));
}

/** Projects that may have volumes: those with persistent state. -p narrows to one. */
async function projectsToRead(options: VolumeOptions): Promise<string[]> {
  if (options.projectName !== undefined) return [await targetProjectName(options, { command: 'volume' })];
  return (await namesInDir(path.join(dirsFromEnvironment().state, 'projects'))).filter(isValidProjectName).sort();
}

async function everyVolume(options: VolumeOptions): Promise<VolumeRow[]> {
  return (await Promise.all((await projectsToRead(options)).map(projectVolumes))).flat();
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function runLs(options: VolumeOptions): Promise<void> {
  const rows = await everyVolume(options);
  if (options.format === 'json') print(JSON.stringify(rows, null, 2));
  else print(formatTable(['PROJECT', 'NAME', 'MOUNTPOINT', 'USED BY'], rows.map((row) => [row.project, row.name, row.mountpoint, row.usedBy.join(',') || '-'])));
}

async function runInspect(names: readonly string[], options: VolumeOptions): Promise<void> {
  printInspected(names, await everyVolume(options), { what: 'volume', where: options.projectName === undefined ? 'any project' : `project ${options.projectName}`, hint: 'see them with: corral volume ls' });
}

async function runCreate(name: string, options: VolumeOptions): Promise<void> {
  if (!VOLUME_NAME.test(name)) throw new UsageError(`invalid volume name "${name}"`, 'use letters, digits, _ . and -, starting with a letter or digit');
  const { openRuntime } = await import('../runtime/context.js');
  const context = await openRuntime(await targetProjectName(options, { command: 'volume create' }), { readOnly: true });
  // As `up` makes it (runtime/container.ts): a dir of root's; an existing one is kept, as docker keeps it.
  await mkdir(context.paths.volume(name), { recursive: true, mode: 0o755 });
  print(name);
}

async function runRm(names: readonly string[], options: VolumeOptions): Promise<void> {
  const [{ openRuntime }, { withProjectLock }] = await Promise.all([import('../runtime/context.js'), import('../state/lock.js')]);
  const project = await targetProjectName(options, { command: 'volume rm' });
  const context = await openRuntime(project, { readOnly: true });
  const removeUnlessUsed = async () => {
    const plan = planVolumeRemoval(names, await projectVolumes(project));
    if (plan.missing.length > 0 && !options.force) throw new UsageError(`no volume ${plan.missing.join(', ')} in project ${project}`, 'see them with: corral volume ls (-f skips a missing one)');
    if (plan.refused.length > 0) {
      const uses = plan.refused.map((one) => `${one.name} is used by ${one.usedBy.join(', ')}`).join('; ');
      throw new UsageError(`volume rm: nothing removed: ${uses}`, 'remove those containers first (corral rm -s POD, or corral down); as docker, -f does not remove a volume in use');
    }
    for (const name of plan.remove) {
      await rm(path.dirname(context.paths.volume(name)), { recursive: true, force: true });
      print(name);
    }
  };
  // Under the project lock while the project has runtime state, so that no `up` mounts it meanwhile;
  // without runtime state there is no container to use it, and no lock file to take.
  if (await pathExists(context.paths.run)) await withProjectLock(context.paths.lock, removeUnlessUsed, undefined, { createDir: false, purpose: 'remove volumes' });
  else await removeUnlessUsed();
}

export function registerVolume(program: Command): void {
  const volume = program.command('volume').description('manage the named volumes of the projects on this host');
  registerLsAndInspect<VolumeOptions>(volume, {
    lsDescription: 'list every project\'s named volumes (-p: one project\'s)',
    inspectDescription: 'show volumes as JSON: project, mountpoint, created, containers using them',
    ls: runLs,
    inspect: runInspect,
  });
  const merged = (options: VolumeOptions, command: Command): VolumeOptions => ({ ...command.optsWithGlobals(), ...options });
  withProjectOptions(volume.command('create').argument('<name>', 'volume name').description('create a named volume of the project, as `up` would'))
    .action(async (name: string, options: VolumeOptions, command: Command) => runCreate(name, merged(options, command)));
  withProjectOptions(volume.command('rm').argument('<names...>', 'volume names').description('remove named volumes of the project that no container uses'), { shortFile: false })
    .option('-f, --force', 'no error for a volume that is not there (a volume in use is still refused, as docker)')
    .action(async (names: string[], options: VolumeOptions, command: Command) => runRm(names, merged(options, command)));
}
