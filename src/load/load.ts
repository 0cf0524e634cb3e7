import path from 'node:path';
import { ProjectError } from '../project/errors.js';
import { fileTooLarge, LOADER_LIMITS, readWithinLimit } from '../project/limits.js';
import { interpolateProject, processEnvironment, type LookupEnv } from '../project/interpolate.js';
import type { Project } from '../project/model.js';
import { normaliseProject } from '../project/normalise.js';
import type { ParsedFile } from '../project/parse.js';
import { parseSourceText, type SourceFormat } from '../import/documents.js';
import { translateCompose } from '../import/compose.js';
import { composeValueType } from '../import/compose-types.js';
import { translateKube } from '../import/kube.js';
import { validateProjectData } from '../project/validate.js';
import { readDotenvFiles, readEnvFiles } from '../project/dotenv.js';
import { readProvidedContents } from '../project/provided-files.js';
import { parseProfiles } from '../project/profiles.js';
import { isValidProjectName, normaliseProjectName, PROJECT_NAME_RULE } from '../project/name.js';
import { errorAt } from '../project/parse.js';
import { parsedFileOf } from './merge.js';
import { composeModel } from './compose-model.js';

// The loader: read -> parse -> interpolate -> validate -> normalise, each a pure stage of its own;
// the file system and the environment come in as lookups so each stage can be tested alone.

export interface LoadOptions {
  readonly file: string;
  /**
   * Compose files merged over `file`, in order, with compose's rules (-f given again, COMPOSE_FILE's
   * list, the override file found beside compose.yaml). Relative paths in all of them are relative to
   * the project directory, which is `file`'s by default.
   */
  readonly overrides?: readonly string[];
  /** `-p` or COMPOSE_PROJECT_NAME: overrides the file's `name:` and the directory name; must be valid as it is. */
  readonly projectName?: string;
  /** `--project-directory`: where relative paths and `.env` are found, and what names the project; default: the file's directory. */
  readonly projectDirectory?: string;
  readonly lookupEnv?: LookupEnv;
  /**
   * Dotenv files whose variables fill in what `lookupEnv` lacks (later files win); default: `.env` in
   * the project directory, when there is one. The CLI passes none: it has read them into `lookupEnv`.
   */
  readonly dotenvFiles?: readonly string[];
  readonly readFile?: (file: string) => Promise<string>;
  /** Active profiles (`--profile`); default: CORRAL_PROFILES from the environment. */
  readonly profiles?: readonly string[];
  /** Keys of a compose file or manifest that Corral cannot carry over, as `FILE:LINE:COL: ...`; default: stderr. */
  readonly onWarning?: (warning: string) => void;
}

const warnOnStderr = (warning: string) => process.stderr.write(`corral: warning: ${warning}\n`);

/**
 * The project's name as compose chooses it: the one given (which must be valid as it is), else the
 * file's `name:`, else the project directory's name, both normalised (`tmp.AbC` is `tmpabc`).
 */
function projectNameOf(parsed: ParsedFile, options: { given?: string; inFile?: unknown; baseDir: string }): string {
  const { file } = parsed;
  if (options.given !== undefined) {
    if (isValidProjectName(options.given)) return options.given;
    throw new ProjectError(`invalid project name "${options.given}"`, { file, line: 0, col: 0, path: '' }, `use ${PROJECT_NAME_RULE}`);
  }
  if (typeof options.inFile === 'string') {
    const name = normaliseProjectName(options.inFile);
    if (isValidProjectName(name)) return name;
    throw errorAt(parsed, ['name'], `invalid project name "${options.inFile}"`, `use ${PROJECT_NAME_RULE} (or pass -p NAME)`);
  }
  const name = normaliseProjectName(path.basename(options.baseDir));
  if (isValidProjectName(name)) return name;
  throw new ProjectError(`the project directory ${options.baseDir} gives no valid project name ("${name}")`, { file, line: 0, col: 0, path: '' }, `set name: in the file or pass -p NAME (${PROJECT_NAME_RULE})`);
}

/** Reads one project file within the size limit, or throws a ProjectError naming it. */
async function readSourceFile(file: string, read: (file: string) => Promise<string>): Promise<string> {
  let text: string;
  try {
    text = await read(file);
  } catch (error) {
    if (error instanceof ProjectError) throw error;
    throw new ProjectError(`cannot read the project file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file, line: 0, col: 0, path: '' }, 'check the path given with -f', { cause: error });
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > LOADER_LIMITS.maxFileBytes) throw fileTooLarge(file, bytes);
  return text;
}

type Source = ReturnType<typeof parseSourceText>;

/** Files merged over the first must be compose files, as must the first: Corral's own format and manifests have no merge rules. */
function checkMergeable(sources: readonly Source[]): void {
  if (sources.length < 2) return;
  for (const [index, source] of sources.entries()) {
    const data = source.parsed.data as Record<string, unknown> | null;
    const corralOwn = source.format === 'kube' || (data !== null && typeof data === 'object' && 'pods' in data) || (index === 0 && source.format !== 'compose');
    if (corralOwn) {
      throw new ProjectError(`only compose files are merged, and this is ${source.format === 'kube' ? 'a Kubernetes manifest' : 'a Corral project file'} (one of ${sources.length} files given)`,
        { file: source.parsed.file, line: 0, col: 0, path: '' }, 'pass it alone with -f, or give only compose files (services:) to merge');
    }
  }
}

/** The project's document before Corral translates it: compose files merged, every file interpolated (what `corral config` prints). */
export interface SourceDocument {
  readonly format: SourceFormat;
  readonly data: unknown;
}

/** Loads a project file (or compose files merged) into the frozen desired model, or throws one ProjectError saying where and how to fix. */
export async function loadProject(options: LoadOptions): Promise<Project> {
  return (await loadProjectAndSource(options)).project;
}

/** The files of a project read and parsed, and the environment its variables come from. */
async function readProjectSources(options: LoadOptions) {
  const files = [options.file, ...(options.overrides ?? [])].map((file) => path.resolve(file));
  const read = options.readFile ?? readWithinLimit;
  const sources: Source[] = [];
  for (const one of files) sources.push(parseSourceText(await readSourceFile(one, read), one));
  checkMergeable(sources);
  const baseDir = path.resolve(options.projectDirectory ?? path.dirname(files[0]!));
  // The environment wins over .env, as in compose.
  const dotenv = await readDotenvFiles(options.dotenvFiles ?? [path.join(baseDir, '.env')], { optional: options.dotenvFiles === undefined, read });
  const environment = options.lookupEnv ?? processEnvironment;
  const lookup = (name: string) => environment(name) ?? dotenv[name];
  return { files, sources, read, baseDir, environment, lookup };
}

type ProjectSources = Awaited<ReturnType<typeof readProjectSources>>;

/** Compose files interpolated (values typed) one by one, then merged with their extends and include: the document compose itself would have. */
async function mergeComposeSources({ files, sources, read, baseDir, lookup }: ProjectSources): Promise<ParsedFile> {
  // Each file is interpolated on its own, then merged over the ones before it, as compose does.
  const layers = sources.map((one) => ({ parsed: one.parsed, data: interpolateProject(one.parsed, lookup, { typeAt: composeValueType }), tags: one.tags }));
  const otherFiles: string[] = [];
  const merged = parsedFileOf(await composeModel(layers, { projectDirectory: baseDir, lookup, read, otherFiles }), files[0]!);
  files.push(...new Set(otherFiles));
  return merged;
}

/** The compose document of a project's files, merged and interpolated, before Corral translates (and checks) it: compose's model, for tests of the merge. */
export async function loadComposeDocument(options: LoadOptions): Promise<unknown> {
  return (await mergeComposeSources(await readProjectSources(options))).data;
}

/** loadProject, and the document the project was made of. */
export async function loadProjectAndSource(options: LoadOptions): Promise<{ project: Project; source: SourceDocument }> {
  const loaded = await readProjectSources(options);
  const { files, sources, baseDir, environment, lookup, read } = loaded;
  const file = files[0]!;
  const source = sources[0]!;
  const tagged = source.format === 'compose' ? undefined : source.tags[0];
  if (tagged) throw errorAt(source.parsed, tagged.path, `${tagged.tag} is a tag of compose files, for merging several`, 'remove the tag: a Corral project file is one file, with plain values');
  // A compose file is interpolated as compose does, then translated; Kubernetes manifests have no
  // such variables. Either way the Corral document keeps the positions of the user's file.
  const warn = options.onWarning ?? warnOnStderr;
  let parsed: ParsedFile = source.parsed;
  let data: unknown;
  let document: unknown = source.parsed.data;
  if (source.format === 'kube') ({ parsed, data } = translateKube(source.parsed, warn));
  else if (source.format === 'compose') {
    const merged = await mergeComposeSources(loaded);
    document = merged.data;
    ({ parsed, data } = translateCompose(merged, merged.data as Record<string, unknown>, warn));
  }
  else document = data = interpolateProject(parsed, lookup);
  validateProjectData(parsed, data);
  const raw = data as Record<string, unknown>;
  const name = projectNameOf(parsed, { given: options.projectName, inFile: raw.name, baseDir });
  const envFiles = await readEnvFiles({ parsed, raw, baseDir, read });
  const provided = await readProvidedContents({ parsed, raw, baseDir, read, lookupEnv: lookup });
  // COMPOSE_PROFILES may come from .env, as in compose.
  const profiles = options.profiles ?? parseProfiles(environment('CORRAL_PROFILES') ?? lookup('COMPOSE_PROFILES'));
  const project = normaliseProject(parsed, raw, { name, file, baseDir, envFiles, provided: provided.contents, otherSources: [...files.slice(1), ...provided.files], profiles, lookupEnv: lookup });
  return { project, source: { format: source.format, data: document } };
}
