import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Project } from '../project/model.js';
import { dirsFromEnvironment } from '../state/paths.js';
import type { Command } from 'commander';
import { UsageError } from './errors.js';

// Which project a command acts on: `-p NAME`, else the project file (`-f`, or ./corral.yaml), else
// the one project that is running. The same rules as docker compose, plus the last one for `ps`.

export interface TargetOptions {
  readonly file?: string;
  readonly projectName?: string;
  /** --profile, repeatable; none given: CORRAL_PROFILES. */
  readonly profile?: readonly string[];
}

const DEFAULT_FILES = ['corral.yaml', 'corral.yml'];

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** The project file to use: `-f`, or the first default name in the current directory. */
export async function projectFile(options: TargetOptions): Promise<string | undefined> {
  if (options.file) return path.resolve(options.file);
  for (const name of DEFAULT_FILES) {
    if (await exists(name)) return path.resolve(name);
  }
  return undefined;
}

/** Loads the project file the options point at. */
export async function loadTargetProject(options: TargetOptions): Promise<Project> {
  const file = await projectFile(options);
  if (!file) throw new UsageError(`no project file: none of ${DEFAULT_FILES.join(', ')} in ${process.cwd()}`, 'name one with -f FILE');
  // Loaded on use: `ps`, `logs` and `down` without -f never pay for the YAML parser and the schema.
  const { loadProject } = await import('../load/load.js');
  return loadProject({ file, projectName: options.projectName, ...(options.profile?.length ? { profiles: options.profile } : {}) });
}

/** Projects that have runtime state on this host. */
export async function runningProjects(): Promise<string[]> {
  const { run } = dirsFromEnvironment();
  return readdir(run).catch(() => [] as string[]).then((names) => names.filter((name) => /^[a-z0-9][a-z0-9_-]*$/.test(name)).sort());
}

/** The project name for commands that need no project file (ps, logs, down). */
export async function targetProjectName(options: TargetOptions): Promise<string> {
  if (options.projectName) return options.projectName;
  if (await projectFile(options)) return (await loadTargetProject(options)).name;
  const projects = await runningProjects();
  if (projects.length === 1) return projects[0]!;
  if (projects.length === 0) throw new UsageError('no project is running and no project file was found', 'name one with -p NAME or -f FILE');
  throw new UsageError(`several projects are running: ${projects.join(', ')}`, 'name one with -p NAME');
}

const collectProfiles = (value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)];

/**
 * Adds -f/--file and -p/--project-name to a subcommand too, so both `corral -f x up` and
 * `corral up -f x` work, as in docker compose. `logs` keeps -f for --follow and gets --file only.
 */
export function withTargetOptions(command: Command, options: { shortFile?: boolean } = {}): Command {
  return command
    .option(options.shortFile === false ? '--file <file>' : '-f, --file <file>', 'project file (default: ./corral.yaml)')
    .option('-p, --project-name <name>', 'project name (default: the file\'s name:, or its directory)')
    .option('--profile <name>', 'activate a profile (repeatable; default: CORRAL_PROFILES=a,b)', collectProfiles, [])
    .option('--debug', 'print stacks and the runtime\'s own output');
}
