import path from 'node:path';
import { ProjectError } from '../project/errors.js';
import { fileTooLarge, LOADER_LIMITS, readWithinLimit } from '../project/limits.js';
import { interpolateProject, processEnvironment, type LookupEnv } from '../project/interpolate.js';
import type { Project } from '../project/model.js';
import { normaliseProject } from '../project/normalise.js';
import type { ParsedFile } from '../project/parse.js';
import { parseSourceText } from '../import/documents.js';
import { translateCompose } from '../import/compose.js';
import { translateKube } from '../import/kube.js';
import { validateProjectData } from '../project/validate.js';
import { readDotenv, readEnvFiles } from '../project/dotenv.js';
import { readProvidedContents } from '../project/provided-files.js';
import { parseProfiles } from '../project/profiles.js';

// The loader: read -> parse -> interpolate -> validate -> normalise, each a pure stage of its own;
// the file system and the environment come in as lookups so each stage can be tested alone.

export interface LoadOptions {
  readonly file: string;
  /** `-p`: overrides the file's `name:` and the directory name. */
  readonly projectName?: string;
  readonly lookupEnv?: LookupEnv;
  readonly readFile?: (file: string) => Promise<string>;
  /** Active profiles (`--profile`); default: CORRAL_PROFILES from the environment. */
  readonly profiles?: readonly string[];
  /** Keys of a compose file or manifest that Corral cannot carry over, as `FILE:LINE:COL: ...`; default: stderr. */
  readonly onWarning?: (warning: string) => void;
}

const warnOnStderr = (warning: string) => process.stderr.write(`corral: warning: ${warning}\n`);

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Loads a project file into the frozen desired model, or throws one ProjectError saying where and how to fix. */
export async function loadProject(options: LoadOptions): Promise<Project> {
  const file = path.resolve(options.file);
  const read = options.readFile ?? readWithinLimit;
  let text: string;
  try {
    text = await read(file);
  } catch (error) {
    if (error instanceof ProjectError) throw error;
    throw new ProjectError(`cannot read the project file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file, line: 0, col: 0, path: '' }, 'check the path given with -f', { cause: error });
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > LOADER_LIMITS.maxFileBytes) throw fileTooLarge(file, bytes);
  const source = parseSourceText(text, file);
  // The environment wins over .env, as in compose.
  const dotenvFile = path.join(path.dirname(file), '.env');
  const dotenv = await readDotenv(dotenvFile, { optional: true, readFile: read }).catch((error: unknown) => {
    if (error instanceof ProjectError) throw error;
    throw new ProjectError(`cannot read .env: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: dotenvFile, line: 0, col: 0, path: '' },
      'make .env beside the project file a readable file of NAME=value lines, or remove it', { cause: error });
  });
  const environment = options.lookupEnv ?? processEnvironment;
  const lookup = (name: string) => environment(name) ?? dotenv[name];
  // A compose file is interpolated as compose does, then translated; Kubernetes manifests have no
  // such variables. Either way the Corral document keeps the positions of the user's file.
  const warn = options.onWarning ?? warnOnStderr;
  let parsed: ParsedFile = source.parsed;
  let data: unknown;
  if (source.format === 'kube') ({ parsed, data } = translateKube(source.parsed, warn));
  else if (source.format === 'compose') ({ parsed, data } = translateCompose(source.parsed, interpolateProject(source.parsed, lookup) as Record<string, unknown>, warn));
  else data = interpolateProject(parsed, lookup);
  validateProjectData(parsed, data);
  const raw = data as Record<string, unknown>;
  const name = (options.projectName ?? (raw.name as string | undefined) ?? path.basename(path.dirname(file))).toLowerCase();
  if (!PROJECT_NAME.test(name)) {
    const where = options.projectName ? { file, line: 0, col: 0, path: '' } : { file, line: 1, col: 1, path: 'name' };
    throw new ProjectError(`invalid project name "${name}"`, where, 'use lowercase letters, digits, - and _ (set name: in the file or pass -p NAME)');
  }
  const envFiles = await readEnvFiles({ parsed, raw, baseDir: path.dirname(file), read });
  const provided = await readProvidedContents({ parsed, raw, baseDir: path.dirname(file), read, lookupEnv: lookup });
  const profiles = options.profiles ?? parseProfiles(environment('CORRAL_PROFILES'));
  return normaliseProject(parsed, raw, { name, file, envFiles, provided: provided.contents, otherSources: provided.files, profiles });
}
