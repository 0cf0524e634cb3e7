import path from 'node:path';
import type { ProvidedFile } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';

// Secrets and configs: defined once at the top (from a file, an environment variable or inline
// content), then given to containers by name as read-only files. Their content is read while
// loading, so it is part of the model and of each container's config hash: a changed secret
// recreates the containers that use it, and the supervisor needs no access to the user's environment.

type Raw = Record<string, unknown>;

export type ProvidedKind = 'secrets' | 'configs';

/** Content of every defined secret and config, by kind and name. */
export type ProvidedContents = Readonly<Record<ProvidedKind, ReadonlyMap<string, string>>>;

export interface ReadProvidedOptions {
  readonly parsed: ParsedFile;
  /** The whole document, whose top-level secrets: and configs: are read. */
  readonly raw: Raw;
  /** Where relative files are found: the project file's directory. */
  readonly baseDir: string;
  readonly read: (file: string) => Promise<string>;
  readonly lookupEnv: (name: string) => string | undefined;
}

/** Reads the content of every top-level secret and config; a missing file or variable is an error at its definition. */
export async function readProvidedContents(options: ReadProvidedOptions): Promise<{ contents: ProvidedContents; files: string[] }> {
  const files: string[] = [];
  const contents = { secrets: new Map<string, string>(), configs: new Map<string, string>() };
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [name, definition] of Object.entries((options.raw[kind] ?? {}) as Record<string, Raw>)) {
      const at = [kind, name];
      if (definition.content !== undefined) {
        contents[kind].set(name, String(definition.content));
      } else if (definition.environment !== undefined) {
        const value = options.lookupEnv(String(definition.environment));
        if (value === undefined) throw errorAt(options.parsed, [...at, 'environment'], `environment variable ${String(definition.environment)} of ${kind.slice(0, -1)} ${name} is not set`, `set ${String(definition.environment)} in the environment or in .env`);
        contents[kind].set(name, value);
      } else {
        const file = path.resolve(options.baseDir, String(definition.file));
        try {
          contents[kind].set(name, await options.read(file));
          files.push(file);
        } catch (error) {
          throw errorAt(options.parsed, [...at, 'file'], `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'create the file or fix the path (relative to the project file)');
        }
      }
    }
  }
  return { contents, files };
}

const DEFAULT_MODE: Record<ProvidedKind, number> = { secrets: 0o400, configs: 0o444 };

function targetOf(kind: ProvidedKind, name: string, target: string | undefined): string {
  if (kind === 'secrets') return target === undefined ? `/run/secrets/${name}` : path.posix.resolve('/run/secrets', target);
  return path.posix.resolve('/', target ?? name);
}

export interface ProvidedFilesOptions {
  /** The container as written, at `at`. */
  readonly raw: Raw;
  readonly at: PathSegment[];
  readonly parsed: ParsedFile;
  readonly contents: ProvidedContents;
}

/** A container's secrets or configs: names or long forms, resolved to files with their content. */
export function providedFilesOf(kind: ProvidedKind, { raw, at, parsed, contents }: ProvidedFilesOptions): ProvidedFile[] {
  return ((raw[kind] ?? []) as (string | Raw)[]).map((entry, index) => {
    const long = typeof entry === 'string' ? { source: entry } : entry;
    const name = String(long.source);
    const content = contents[kind].get(name);
    if (content === undefined) {
      const known = [...contents[kind].keys()];
      throw errorAt(parsed, [...at, kind, index], `${kind.slice(0, -1)} ${name} is not defined`, known.length ? `define it under ${kind}: at the top, or use one of: ${known.join(', ')}` : `define it under ${kind}: at the top, e.g. ${kind}: { ${name}: { file: ./${name}.txt } }`);
    }
    const mode = long.mode === undefined ? DEFAULT_MODE[kind] : typeof long.mode === 'number' ? long.mode : Number.parseInt(String(long.mode), 8);
    return {
      kind: kind === 'secrets' ? 'secret' as const : 'config' as const,
      name,
      target: targetOf(kind, name, long.target as string | undefined),
      mode,
      ...(long.uid === undefined ? {} : { uid: Number(long.uid) }),
      ...(long.gid === undefined ? {} : { gid: Number(long.gid) }),
      content,
    };
  });
}
