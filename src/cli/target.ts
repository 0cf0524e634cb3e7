import path from 'node:path';
import { repeatable } from './repeatable.js';
import type { Command } from 'commander';
import type { Project } from '../project/model.js';
import type { SourceDocument } from '../load/load.js';
import { isValidProjectName, PROJECT_NAME_RULE } from '../project/name.js';
import { parseProfiles } from '../project/profiles.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { namesInDir, pathExists } from '../state/read.js';
import { UsageError } from './errors.js';
import { findProjectFiles, PROJECT_FILE_NAMES, type ProjectFiles } from './project-files.js';

// Which project a command acts on, by docker compose's rules (docker/compose cmd/compose/compose.go,
// compose-go cli/options.go): the name given with -p, else COMPOSE_PROJECT_NAME, else the project
// file found from the current directory up (or -f, COMPOSE_FILE, --project-directory). The
// environment is the process's, filled in by --env-file or .env as compose fills it. Only commands
// that change nothing (`ps`, `logs`) may fall back to the one project running on the host: one that
// stops or removes things never guesses whose project it acts on.

export interface TargetOptions {
  /** -f, repeatable. */
  readonly file?: readonly string[];
  readonly projectName?: string;
  readonly projectDirectory?: string;
  /** --env-file, repeatable: replace .env. */
  readonly envFile?: readonly string[];
  /** --profile, repeatable; none given: CORRAL_PROFILES, else COMPOSE_PROFILES. */
  readonly profile?: readonly string[];
}

/** The files, the environment and the name given for them: what loading the project starts from. */
export interface Target {
  readonly found: ProjectFiles;
  /** --project-directory, absolute. */
  readonly projectDirectory?: string;
  readonly environment: Readonly<Record<string, string>>;
  /** -p, else COMPOSE_PROJECT_NAME: checked, never normalised (as compose). */
  readonly givenName?: string;
}

/** A name the user gave (-p, COMPOSE_PROJECT_NAME) is used as it is, so it must be valid as it is. */
function checkedGivenName(name: string, from: string): string {
  if (isValidProjectName(name)) return name;
  throw new UsageError(`invalid project name "${name}" (from ${from})`, `use ${PROJECT_NAME_RULE}`);
}

/** Where the command runs: its directory and environment (the process's, or a test's). */
export interface TargetHost {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const processHost = (): TargetHost => ({ cwd: process.cwd(), env: process.env });

/** COMPOSE_ENV_FILES, comma-separated, stands for --env-file when none is given (as in compose). */
function explicitEnvFiles(options: TargetOptions, host: TargetHost): string[] | undefined {
  const files = options.envFile?.length ? options.envFile : (host.env.COMPOSE_ENV_FILES ?? '').split(',').filter(Boolean);
  return files.length > 0 ? files.map((file) => path.resolve(host.cwd, file)) : undefined;
}

/** The process environment, where set, over the variables of the dotenv files. */
async function withDotenv(environment: Readonly<Record<string, string>>, files: readonly string[], optional: boolean): Promise<Record<string, string>> {
  // Loaded on use, as the loader is: its module brings the YAML parser along. Read as the loader
  // reads files: within its size limit (a .env that is a link to /dev/zero must not hang the command).
  const [{ readDotenvFiles }, { readWithinLimit }] = await Promise.all([import('../project/dotenv.js'), import('../project/limits.js')]);
  return { ...(await readDotenvFiles(files, { optional, read: readWithinLimit })), ...environment };
}

/**
 * As compose does it: the env files (or the .env of the project directory, of the first -f file's
 * directory, or of the current one) before the files are looked for, since COMPOSE_FILE may be set
 * there; then the .env of the directory the project file was found in, for what is still unset.
 */
export async function resolveTarget(options: TargetOptions, host: TargetHost = processHost()): Promise<Target> {
  const { cwd } = host;
  const projectDirectory = options.projectDirectory === undefined ? undefined : path.resolve(cwd, options.projectDirectory);
  const explicit = explicitEnvFiles(options, host);
  const processEnvironment = Object.fromEntries(Object.entries(host.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const firstDir = projectDirectory ?? (options.file?.length ? path.dirname(path.resolve(cwd, options.file[0]!)) : cwd);
  let environment = await withDotenv(processEnvironment, explicit ?? [path.join(firstDir, '.env')], explicit === undefined);
  const found = await findProjectFiles({ cwd, files: options.file, projectDirectory, lookupEnv: (name) => environment[name], exists: pathExists });
  const workingDir = projectDirectory ?? (found.files[0] === undefined ? undefined : path.dirname(found.files[0]));
  if (explicit === undefined && workingDir !== undefined && workingDir !== firstDir) environment = await withDotenv(environment, [path.join(workingDir, '.env')], true);
  const givenName = options.projectName !== undefined ? checkedGivenName(options.projectName, '-p')
    : environment.COMPOSE_PROJECT_NAME ? checkedGivenName(environment.COMPOSE_PROJECT_NAME, 'COMPOSE_PROJECT_NAME') : undefined;
  return { found, projectDirectory, environment, ...(givenName === undefined ? {} : { givenName }) };
}

/** Where no project file was found, in the words of the message. */
function nowhereFound(found: ProjectFiles): string {
  return `no ${PROJECT_FILE_NAMES.join(', ')} in ${found.source} or a parent directory`;
}

/** The files to load, the main one first; none found is an error that says where Corral looked. */
function filesToLoad(found: ProjectFiles): { file: string; overrides: readonly string[] } {
  const [file, ...overrides] = found.files;
  if (file === undefined) throw new UsageError(`no project file: ${nowhereFound(found)}`, 'name one with -f FILE, or run the command in the project\'s directory');
  return { file, overrides };
}

/** A loaded project, the document it was made of, and the profiles that were active. */
export interface LoadedTarget {
  readonly project: Project;
  readonly source: SourceDocument;
  readonly profiles: readonly string[];
}

/**
 * Loads the project the options point at (several compose files merged, as compose merges them).
 * Warnings about the files are for the commands that act on it (`up`, `validate`, ...): one that
 * only needs the name (`ps`, `down`) passes `quiet`.
 */
async function loadTarget(target: Target, options: TargetOptions, how: { quiet?: boolean } = {}): Promise<LoadedTarget> {
  const { file, overrides } = filesToLoad(target.found);
  const warn = how.quiet ? () => {} : (warning: string) => process.stderr.write(`corral: warning: ${warning}\n`);
  for (const other of target.found.passedOver) warn(`${other} is also a project file; using ${file} (the first of ${PROJECT_FILE_NAMES.join(', ')})`);
  // Loaded on use: `ps`, `logs` and `down` with -p never pay for the YAML parser and the schema.
  const { loadProjectAndSource } = await import('../load/load.js');
  const { environment } = target;
  const profiles = options.profile?.length ? options.profile : parseProfiles(environment.CORRAL_PROFILES ?? environment.COMPOSE_PROFILES);
  const loaded = await loadProjectAndSource({
    file,
    overrides,
    ...(target.givenName === undefined ? {} : { projectName: target.givenName }),
    ...(target.projectDirectory === undefined ? {} : { projectDirectory: target.projectDirectory }),
    lookupEnv: (name) => environment[name],
    // Read into `environment` already, with the process's variables winning.
    dotenvFiles: [],
    profiles,
    onWarning: warn,
  });
  return { ...loaded, profiles };
}

/** Loads the project file the options point at. */
export async function loadTargetProject(options: TargetOptions): Promise<Project> {
  return (await loadTarget(await resolveTarget(options), options)).project;
}

/** Loads the project the options point at, with its document and active profiles (`corral config`). */
export async function loadTargetWithSource(options: TargetOptions): Promise<LoadedTarget> {
  return loadTarget(await resolveTarget(options), options);
}

/** Projects that have runtime state on this host. */
export async function runningProjects(): Promise<string[]> {
  const { run } = dirsFromEnvironment();
  return namesInDir(run).then((names) => names.filter(isValidProjectName).sort());
}

export interface TargetNameOptions {
  /** The command, for the message when no project is named. */
  readonly command: string;
  /** `ps` and `logs`, which change nothing: with no project named or found, the one running will do. */
  readonly acceptTheOneRunning?: boolean;
}

/** The project name for commands that act on what runs (ps, logs, down, stop, exec...): given, or of the project file found. */
export async function targetProjectName(options: TargetOptions, how: TargetNameOptions): Promise<string> {
  // -p alone needs nothing else: `down -p NAME` works wherever it is typed, even beside a broken file.
  if (options.projectName !== undefined) return checkedGivenName(options.projectName, '-p');
  const target = await resolveTarget(options);
  if (target.givenName !== undefined) return target.givenName;
  if (target.found.files.length > 0) return (await loadTarget(target, options, { quiet: true })).project.name;
  const projects = await runningProjects();
  if (how.acceptTheOneRunning && projects.length === 1) return projects[0]!;
  const running = projects.length === 0 ? 'no project is running' : `running: ${projects.join(', ')}`;
  throw new UsageError(`${how.command}: no project named (-p, COMPOSE_PROJECT_NAME) and ${nowhereFound(target.found)}; ${running}`,
    `name one: corral -p NAME ${how.command}; or run it in the project's directory, or with -f FILE`);
}

const collectProfiles = (value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)];

/** -f/--file (repeatable, as in compose), -p, --project-directory and --env-file, where `command` takes them. */
export function withProjectOptions(command: Command, options: { shortFile?: boolean; shortProjectName?: boolean } = {}): Command {
  return command
    .option(options.shortFile === false ? '--file <file>' : '-f, --file <file>', 'project file, repeatable (default: corral.yaml or compose.yaml, here or in a parent directory; COMPOSE_FILE)', repeatable)
    .option(options.shortProjectName === false ? '--project-name <name>' : '-p, --project-name <name>', 'project name (default: COMPOSE_PROJECT_NAME, the file\'s name:, or its directory)')
    .option('--project-directory <dir>', 'where relative paths and .env are found (default: the project file\'s directory)')
    .option('--env-file <file>', 'read variables from this file instead of .env (repeatable; default: COMPOSE_ENV_FILES)', repeatable);
}

/**
 * Adds the project options to a subcommand too, so both `corral -f x up` and `corral up -f x` work,
 * as in docker compose. `logs` keeps -f for --follow and gets --file only.
 */
export function withTargetOptions(command: Command, options: { shortFile?: boolean } = {}): Command {
  return withProjectOptions(command, options)
    .option('--profile <name>', 'activate a profile (repeatable; default: CORRAL_PROFILES or COMPOSE_PROFILES=a,b)', collectProfiles, [])
    .option('--debug', 'print stacks and the runtime\'s own output');
}
