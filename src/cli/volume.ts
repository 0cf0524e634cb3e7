import type { Command } from 'commander';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { dirsFromEnvironment, hostVolumePaths } from '../state/paths.js';
import { namesInDir, pathExists } from '../state/read.js';
import { isValidProjectName, VOLUME_NAME } from '../project/name.js';
import { UsageError } from './errors.js';
import { formatTable } from './table.js';
import { planVolumeRemoval, type VolumeRemovalPlan } from '../runtime/volume-removal-plan.js';
import { printInspected, registerLsAndInspect } from './listing.js';
import { targetProjectName, type TargetOptions, withProjectOptions } from './target.js';

// `corral volume ls|inspect|create|rm`, as docker compose and podman users know them. A project's
// own volume is a dir of its project's state dir (volumes/NAME/_data), made by `up` on first use and
// kept by `down`; a host volume (runtime/host-volume.ts) is the host's, made by `volume create NAME`
// or by `up` for a definition's `name:`, and used by any project that names it. `ls` and `inspect`
// read both; which containers use a volume is read from their bundles (runtime/volume-users.ts).
// `create` and `rm` act on the host's volumes unless a project is named (-p, -f, COMPOSE_PROJECT_NAME,
// COMPOSE_FILE), as `docker volume create` makes a host-wide one.

interface VolumeOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
  readonly force?: boolean;
}

export interface VolumeRow {
  /** The project whose own volume it is; null for a host volume. */
  readonly project: string | null;
  readonly name: string;
  /** The dir mounted into containers: its _data. */
  readonly mountpoint: string;
  /** When the volume's dir was made (ISO 8601). */
  readonly created: string;
  /** The containers that mount it, running or not: `pod/container` for a project's own, `project: pod/container` for a host volume. */
  readonly usedBy: readonly string[];
  /** A host volume's maker: the project whose `up` made it for a `name:`; absent: `volume create` made it. */
  readonly createdBy?: string;
}

/** What `volume rm` does with each of a project's volumes. */
export function planProjectVolumeRemoval(names: readonly string[], existing: readonly VolumeRow[]): VolumeRemovalPlan {
  return planVolumeRemoval(names, new Map(existing.map((row) => [row.name, row.usedBy])));
}

/** Whether the command names a project, so that create and rm mean its own volumes rather than the host's. */
function namesAProject(options: VolumeOptions): boolean {
  return options.projectName !== undefined || (options.file?.length ?? 0) > 0 || Boolean(process.env.COMPOSE_PROJECT_NAME) || Boolean(process.env.COMPOSE_FILE);
}

/** When the dir was made: its birth time where the filesystem keeps one, else its last change. */
async function createdTime(dir: string): Promise<string> {
  const info = await stat(dir);
  return (info.birthtimeMs > 0 ? info.birthtime : info.ctime).toISOString();
}

/** The named volumes of one project, sorted by name. */
async function projectVolumes(project: string): Promise<VolumeRow[]> {
  const [{ openRuntime }, { volumesOfContainers }] = await Promise.all([import('../runtime/context.js'), import('../runtime/volume-users.js')]);
  const context = await openRuntime(project, { readOnly: true });
  const names = (await namesInDir(context.paths.volumes)).sort();
  if (names.length === 0) return [];
  const users = new Map<string, string[]>();
  for (const { container, own } of await volumesOfContainers(context)) {
    for (const volume of own) users.set(volume, [...(users.get(volume) ?? []), container]);
  }
  return Promise.all(names.map(async (name) => ({
    project, name, mountpoint: context.paths.volume(name),
    created: await createdTime(path.dirname(context.paths.volume(name))),
    usedBy: users.get(name) ?? [],
  })));
}

/** The host's volumes, sorted by name. */
async function hostVolumes(): Promise<VolumeRow[]> {
  const [{ readHostVolumes }, { hostVolumeUsers }] = await Promise.all([import('../runtime/host-volume-removal.js'), import('../runtime/volume-users.js')]);
  const dirs = dirsFromEnvironment();
  const records = await readHostVolumes(dirs);
  if (records.size === 0) return [];
  const users = await hostVolumeUsers(dirs);
  return [...records].map(([name, record]) => ({
    project: null, name, mountpoint: hostVolumePaths(dirs).data(name), created: record.created,
    usedBy: users.get(name) ?? [], ...(record.createdBy === undefined ? {} : { createdBy: record.createdBy }),
  }));
}

/** Projects that may have volumes: those with persistent state. -p narrows to one. */
async function projectsToRead(options: VolumeOptions): Promise<string[]> {
  if (options.projectName !== undefined) return [await targetProjectName(options, { command: 'volume' })];
  return (await namesInDir(path.join(dirsFromEnvironment().state, 'projects'))).filter(isValidProjectName).sort();
}

async function everyVolume(options: VolumeOptions): Promise<VolumeRow[]> {
  const own = (await Promise.all((await projectsToRead(options)).map(projectVolumes))).flat();
  return options.projectName === undefined ? [...own, ...await hostVolumes()] : own;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function runLs(options: VolumeOptions): Promise<void> {
  const rows = await everyVolume(options);
  if (options.format === 'json') print(JSON.stringify(rows, null, 2));
  else print(formatTable(['PROJECT', 'NAME', 'MOUNTPOINT', 'USED BY'], rows.map((row) => [row.project ?? '- (host)', row.name, row.mountpoint, row.usedBy.join(',') || '-'])));
}

async function runInspect(names: readonly string[], options: VolumeOptions): Promise<void> {
  printInspected(names, await everyVolume(options), { what: 'volume', where: options.projectName === undefined ? 'any project' : `project ${options.projectName}`, hint: 'see them with: corral volume ls' });
}

async function runCreate(name: string, options: VolumeOptions): Promise<void> {
  if (!VOLUME_NAME.test(name)) throw new UsageError(`invalid volume name "${name}"`, 'use letters, digits, _ . and -, starting with a letter or digit');
  if (!namesAProject(options)) {
    const { ensureHostVolume } = await import('../runtime/host-volume.js');
    // The host's, for any project's external: true; made by nobody's up, so no project's down -v removes it.
    await ensureHostVolume(dirsFromEnvironment(), name, undefined);
    print(name);
    return;
  }
  const { openRuntime } = await import('../runtime/context.js');
  const context = await openRuntime(await targetProjectName(options, { command: 'volume create' }), { readOnly: true });
  // As `up` makes it (runtime/container.ts): a dir of root's; an existing one is kept, as docker keeps it.
  await mkdir(context.paths.volume(name), { recursive: true, mode: 0o755 });
  print(name);
}

/** `volume rm` of host volumes: all or nothing, under the host volumes' lock. */
async function removeHostVolumesNamed(names: readonly string[], options: VolumeOptions): Promise<void> {
  const { removeHostVolumes } = await import('../runtime/host-volume-removal.js');
  const plan = await removeHostVolumes(dirsFromEnvironment(), {
    names,
    decide: (planned) => {
      if (planned.missing.length > 0 && !options.force) throw new UsageError(`no host volume ${planned.missing.join(', ')}`, 'see them with: corral volume ls; a project\'s own volume: corral -p PROJECT volume rm NAME (-f skips a missing one)');
      if (planned.refused.length > 0) {
        const uses = planned.refused.map((one) => `${one.name} is used by ${one.usedBy.join(', ')}`).join('; ');
        throw new UsageError(`volume rm: nothing removed: ${uses}`, 'remove those containers first (corral -p PROJECT rm -s POD, or corral -p PROJECT down); as docker, -f does not remove a volume in use');
      }
    },
  });
  for (const name of plan.remove) print(name);
}

async function runRm(names: readonly string[], options: VolumeOptions): Promise<void> {
  if (!namesAProject(options)) return removeHostVolumesNamed(names, options);
  const [{ openRuntime }, { withProjectLock }] = await Promise.all([import('../runtime/context.js'), import('../state/lock.js')]);
  const project = await targetProjectName(options, { command: 'volume rm' });
  const context = await openRuntime(project, { readOnly: true });
  const removeUnlessUsed = async () => {
    const plan = planProjectVolumeRemoval(names, await projectVolumes(project));
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
  const volume = program.command('volume').description('manage the named volumes of this host and of its projects');
  registerLsAndInspect<VolumeOptions>(volume, {
    lsDescription: 'list every project\'s named volumes (-p: one project\'s)',
    inspectDescription: 'show volumes as JSON: project, mountpoint, created, containers using them',
    ls: runLs,
    inspect: runInspect,
  });
  const merged = (options: VolumeOptions, command: Command): VolumeOptions => ({ ...command.optsWithGlobals(), ...options });
  withProjectOptions(volume.command('create').argument('<name>', 'volume name').description('create a host volume, which projects use as external: true (with -p or -f: a volume of that project, as `up` would make it)'))
    .action(async (name: string, options: VolumeOptions, command: Command) => runCreate(name, merged(options, command)));
  withProjectOptions(volume.command('rm').argument('<names...>', 'volume names').description('remove host volumes (with -p or -f: the project\'s own) that no container uses'), { shortFile: false })
    .option('-f, --force', 'no error for a volume that is not there (a volume in use is still refused, as docker)')
    .action(async (names: string[], options: VolumeOptions, command: Command) => runRm(names, merged(options, command)));
}
