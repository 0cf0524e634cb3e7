import path from 'node:path';
import { UsageError } from './errors.js';

// Which project files a command reads, found as docker compose finds them (compose-go cli/options.go):
// the files given with -f; else those of COMPOSE_FILE; else, from the project directory (or the
// current one) up to /, the first directory with a project file: Corral's own corral.yaml, else
// compose.yaml and its kin, with the compose override file beside it. Pure: the file system comes in
// as `exists`, the environment as `lookupEnv`.

/** Corral's own names come first; then compose's, in compose's order of preference. */
export const PROJECT_FILE_NAMES = ['corral.yaml', 'corral.yml', 'compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;

/** What compose merges over the compose file it found (never over corral.yaml). */
export const OVERRIDE_FILE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'] as const;

const CORRAL_FILE_NAMES: readonly string[] = ['corral.yaml', 'corral.yml'];

export interface FindProjectFilesOptions {
  readonly cwd: string;
  /** -f, repeatable, relative to `cwd`. */
  readonly files?: readonly string[];
  /** --project-directory: where the search starts; relative to `cwd`. */
  readonly projectDirectory?: string;
  /** The environment compose reads COMPOSE_FILE and COMPOSE_PATH_SEPARATOR from (the process's, then .env). */
  readonly lookupEnv: (name: string) => string | undefined;
  readonly exists: (file: string) => Promise<boolean>;
}

export interface ProjectFiles {
  /** Absolute, the main file first; empty when none was found. */
  readonly files: readonly string[];
  /** Where the files came from, for messages: `-f`, `COMPOSE_FILE`, or the directory searched from. */
  readonly source: string;
  /** Other project files in the directory where one was found, which compose warns it leaves alone. */
  readonly passedOver: readonly string[];
}

/** COMPOSE_FILE's list, split on COMPOSE_PATH_SEPARATOR (default `:`), each relative to `cwd` and required to exist. */
async function filesOfComposeFileVariable(value: string, options: FindProjectFilesOptions): Promise<string[]> {
  const separator = options.lookupEnv('COMPOSE_PATH_SEPARATOR') || ':';
  const files = value.split(separator).filter(Boolean).map((file) => path.resolve(options.cwd, file));
  for (const file of files) {
    if (!(await options.exists(file))) throw new UsageError(`COMPOSE_FILE names ${file}, which does not exist`, 'fix COMPOSE_FILE (in the environment or .env), or unset it');
  }
  return files;
}

/** The first names of `names` that exist in `dir`, as paths, in the order of `names`. */
async function existingIn(dir: string, names: readonly string[], exists: (file: string) => Promise<boolean>): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) if (await exists(path.join(dir, name))) found.push(path.join(dir, name));
  return found;
}

/** The project files of a command: -f, else COMPOSE_FILE, else the nearest directory up from the project directory that has one. */
export async function findProjectFiles(options: FindProjectFilesOptions): Promise<ProjectFiles> {
  if (options.files && options.files.length > 0) return { files: options.files.map((file) => path.resolve(options.cwd, file)), source: '-f', passedOver: [] };
  const composeFile = options.lookupEnv('COMPOSE_FILE');
  if (composeFile) return { files: await filesOfComposeFileVariable(composeFile, options), source: 'COMPOSE_FILE', passedOver: [] };
  const start = path.resolve(options.cwd, options.projectDirectory ?? '.');
  for (let dir = start; ; dir = path.dirname(dir)) {
    const [main, ...passedOver] = await existingIn(dir, PROJECT_FILE_NAMES, options.exists);
    if (main) {
      const overrides = CORRAL_FILE_NAMES.includes(path.basename(main)) ? [] : await existingIn(dir, OVERRIDE_FILE_NAMES, options.exists);
      return { files: [main, ...overrides.slice(0, 1)], source: start, passedOver: [...passedOver, ...overrides.slice(1)] };
    }
    if (path.dirname(dir) === dir) return { files: [], source: start, passedOver: [] };
  }
}
