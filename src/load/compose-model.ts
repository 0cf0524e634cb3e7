import path from 'node:path';
import { parseSourceText } from '../import/documents.js';
import { readDotenvFiles } from '../project/dotenv.js';
import { ProjectError } from '../project/errors.js';
import { interpolateProject, type LookupEnv } from '../project/interpolate.js';
import { composeValueType } from '../import/compose-types.js';
import { errorAt, type ParsedFile, type PathSegment } from '../project/parse.js';
import { applyExtends, extendsFilesOf } from './extends.js';
import { importIncluded, includeEntriesOf } from './include.js';
import { mergeLayers, type ComposeLayer, type Located } from './merge.js';
import { modelWithAbsolutePaths } from './paths.js';

// A compose project's files assembled into one model, as compose-go's loader does it file by file:
// interpolate, bring in what `include` names, apply `extends`, merge over the files before. Here
// are the reads (the files include and extends name, their .env); the rules are pure, in merge.ts,
// include.ts and extends.ts.

type Read = (file: string) => Promise<string>;

/** At most this many files named by `extends.file` and `include`, one naming the next: a project needs a few. */
const MAX_NAMED_FILES = 64;

export interface ComposeModelOptions {
  /** Where relative paths (and `extends.file`, `include` paths) of the files are relative to. */
  readonly projectDirectory: string;
  readonly lookup: LookupEnv;
  readonly read: Read;
  /** Files read besides the project's own (extended and included ones), for the project's sources; filled in. */
  readonly otherFiles: string[];
  /** The main files of the includes on the way here, to refuse a cycle. */
  readonly includedFrom?: readonly string[];
}

/** A file parsed and interpolated. */
export function layerOf(text: string, file: string, lookup: LookupEnv): ComposeLayer {
  const source = parseSourceText(text, file);
  return { parsed: source.parsed, data: interpolateProject(source.parsed, lookup, { typeAt: composeValueType }), tags: source.tags };
}

/** Reads a file that another names (extends.file, include), or says where it is named. */
async function readNamed(file: string, read: Read, named: { in: ParsedFile; at: readonly PathSegment[]; hint: string }): Promise<string> {
  try {
    return await read(file);
  } catch (error) {
    if (error instanceof ProjectError) throw error;
    throw Object.assign(errorAt(named.in, named.at, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, named.hint), { cause: error });
  }
}

/** The files `extends.file` names, and those they name in turn, read, parsed and interpolated (as compose, with the project's environment). */
async function readExtendedFiles(layers: readonly ComposeLayer[], options: ComposeModelOptions): Promise<Map<string, ComposeLayer>> {
  const files = new Map<string, ComposeLayer>();
  const pending = layers.flatMap((layer) => extendsFilesOf(layer, options.projectDirectory));
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    const { file, namedIn, at } = next;
    if (files.has(file)) continue;
    if (files.size >= MAX_NAMED_FILES) throw errorAt(namedIn, at, `extends names more than ${MAX_NAMED_FILES} files`, 'keep the chain of extends short');
    const text = await readNamed(file, options.read, { in: namedIn, at, hint: 'extends.file is relative to the project directory (in an extended file, to that file\'s directory)' });
    const layer = layerOf(text, file, options.lookup);
    files.set(file, layer);
    options.otherFiles.push(file);
    pending.push(...extendsFilesOf(layer, path.dirname(file)));
  }
  return files;
}

/** The projects a file's `include` names, each loaded with its own directory and environment, its relative paths made absolute. */
async function loadIncluded(layer: ComposeLayer, options: ComposeModelOptions): Promise<Located[]> {
  const models: Located[] = [];
  for (const entry of includeEntriesOf(layer, options.projectDirectory)) {
    const chain = options.includedFrom ?? [layer.parsed.file];
    if (chain.includes(entry.files[0]!)) throw errorAt(layer.parsed, entry.at, `include cycle: ${[...chain, entry.files[0]!].join(' includes ')}`, 'break the cycle of includes');
    if (chain.length + options.otherFiles.length > MAX_NAMED_FILES) throw errorAt(layer.parsed, entry.at, `include names more than ${MAX_NAMED_FILES} files`, 'keep the includes few');
    // The including project's environment wins over the included one's env files, as in compose.
    const envFiles = entry.envFiles ?? [path.join(entry.projectDirectory, '.env')];
    const fromFiles = await readDotenvFiles(envFiles, { optional: entry.envFiles === undefined, read: options.read });
    const lookup: LookupEnv = (name) => options.lookup(name) ?? fromFiles[name];
    const layers: ComposeLayer[] = [];
    for (const file of entry.files) {
      const text = await readNamed(file, options.read, { in: layer.parsed, at: entry.pathAt, hint: 'include paths are relative to the project directory' });
      layers.push(layerOf(text, file, lookup));
      options.otherFiles.push(file);
    }
    const model = await composeModel(layers, { ...options, projectDirectory: entry.projectDirectory, lookup, includedFrom: [...chain, entry.files[0]!] });
    models.push({ value: modelWithAbsolutePaths(model.value, entry.projectDirectory), origin: model.origin });
  }
  return models;
}

/** The files of one compose project merged into one model, with what they include and extend. */
export async function composeModel(layers: readonly ComposeLayer[], options: ComposeModelOptions): Promise<Located> {
  const included: Located[][] = [];
  for (const layer of layers) included.push(await loadIncluded(layer, options));
  const extended = await readExtendedFiles(layers, options);
  return mergeLayers(layers, {
    include: (own, tags, index) => (included[index]!.length > 0 || (own.value as { include?: unknown } | null)?.include !== undefined ? importIncluded(own, included[index]!, tags) : own),
    extend: (own, tags) => applyExtends(own, tags, { files: extended, file: own.origin.parsed.file, dir: options.projectDirectory }),
  });
}
