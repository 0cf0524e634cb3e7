import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'dotenv';
import { errorAt, type ParsedFile } from './parse.js';
import { ProjectError } from './errors.js';

// `.env` beside the project file, and `env_file:` lists, in the dotenv format compose users know
// (export prefixes, comments, quoted and multi-line values); parsing is dotenv's own.

/** The variables of a dotenv file; a missing file is no variables when `optional`. */
export async function readDotenv(file: string, options: { optional?: boolean; readFile?: (file: string) => Promise<string> } = {}): Promise<Record<string, string>> {
  const read = options.readFile ?? ((name: string) => readFile(name, 'utf8'));
  try {
    return parse(await read(file));
  } catch (error) {
    if (options.optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

/** The variables of the dotenv files, later files winning; the default `.env` may be missing. */
export async function readDotenvFiles(files: readonly string[], options: { optional: boolean; read: (file: string) => Promise<string> }): Promise<Record<string, string>> {
  const variables: Record<string, string> = {};
  for (const file of files) {
    Object.assign(variables, await readDotenv(file, { optional: options.optional, readFile: options.read }).catch((error: unknown) => {
      if (error instanceof ProjectError) throw error;
      throw new ProjectError(`cannot read ${path.basename(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file, line: 0, col: 0, path: '' },
        'make it a readable file of NAME=value lines, or remove it', { cause: error });
    }));
  }
  return variables;
}

/** An `env_file:` entry: a path, or `{ path, required }`. */
export type EnvFileEntry = string | { readonly path: string; readonly required?: boolean };

export const envFilePath = (entry: EnvFileEntry) => (typeof entry === 'string' ? entry : entry.path);

export interface EnvFilesOptions {
  readonly parsed: ParsedFile;
  /** The whole document, whose containers' env_file: are read. */
  readonly raw: Record<string, unknown>;
  /** Where relative paths are found: the project file's directory. */
  readonly baseDir: string;
  readonly read: (file: string) => Promise<string>;
}

/** Reads every `env_file:` of every container, keyed by its resolved path; a missing one is an error at its line. */
export async function readEnvFiles({ parsed, raw, baseDir, read }: EnvFilesOptions) {
  const files = new Map<string, Record<string, string>>();
  for (const [podName, pod] of Object.entries((raw.pods ?? {}) as Record<string, { containers: Record<string, { env_file?: EnvFileEntry | EnvFileEntry[] }> }>)) {
    for (const [containerName, container] of Object.entries(pod.containers)) {
      const listed = container.env_file === undefined ? [] : [container.env_file].flat();
      for (const [index, entry] of listed.entries()) {
        const resolved = path.resolve(baseDir, envFilePath(entry));
        if (files.has(resolved)) continue;
        try {
          files.set(resolved, await readDotenv(resolved, { readFile: read }));
        } catch (error) {
          // required: false (compose's long form): a missing file adds nothing, as in compose.
          if (typeof entry === 'object' && entry.required === false && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          const at = ['pods', podName, 'containers', containerName, 'env_file', ...(Array.isArray(container.env_file) ? [index] : [])];
          throw errorAt(parsed, at, `cannot read env_file ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'create the file or fix the path (relative to the project file)');
        }
      }
    }
  }
  return files;
}
