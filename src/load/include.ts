import path from 'node:path';
import { errorAt } from '../project/parse.js';
import { childOf, mergeValues, without, withChild, type ComposeLayer, type Located, type MergeTag } from './merge.js';

// compose's top-level `include` (compose-go loader/include.go): each entry names a compose project of
// its own (one file, or several merged), loaded with its own project directory (relative paths in it
// are that directory's, made absolute) and environment (its env_file, else the .env of its project
// directory, under the including project's environment), whose services, volumes, networks, secrets
// and configs join the including file's. A resource the including file (or an earlier include)
// defines too is merged, the including file's definition over the included one, as compose does.

type Raw = Record<string, unknown>;

const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One entry of `include`, its paths resolved. */
export interface IncludeEntry {
  /** The files of the included project, absolute: the first is its main file, the others merged over it. */
  readonly files: readonly string[];
  /** Its project directory: `project_directory`, else the first file's directory. */
  readonly projectDirectory: string;
  /** Its env files (absolute), or undefined for the .env of its project directory, if there is one. */
  readonly envFiles?: readonly string[];
  /** Where the entry is, and its path, for errors. */
  readonly at: readonly (string | number)[];
  readonly pathAt: readonly (string | number)[];
}

const strings = (value: unknown): string[] | undefined => (typeof value === 'string' ? [value] : Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined);

/** The entries of a file's `include`, short (a path) or long (`path`, `project_directory`, `env_file`), relative to `dir`. */
export function includeEntriesOf(layer: ComposeLayer, dir: string): IncludeEntry[] {
  const data = isMapping(layer.data) ? layer.data : {};
  if (data.include === undefined || data.include === null) return [];
  const example = 'include: [other/compose.yaml] or include: [{ path: other/compose.yaml, project_directory: other, env_file: other/.env }]';
  if (!Array.isArray(data.include)) throw errorAt(layer.parsed, ['include'], 'include must be a list', `write ${example}`);
  return data.include.map((entry, index) => {
    const at = ['include', index];
    const long: Raw = isMapping(entry) ? entry : { path: entry };
    const files = strings(long.path)?.map((file) => path.resolve(dir, file));
    if (!files || files.length === 0) throw errorAt(layer.parsed, at, 'an include entry needs the path of a compose file', `write ${example}`);
    for (const key of Object.keys(long)) {
      if (!['path', 'project_directory', 'env_file'].includes(key) && !key.startsWith('x-')) throw errorAt(layer.parsed, [...at, key], `include has no key ${key}`, 'use path, project_directory and env_file');
    }
    if (long.project_directory !== undefined && typeof long.project_directory !== 'string') throw errorAt(layer.parsed, [...at, 'project_directory'], 'project_directory must be a path', `write ${example}`);
    const envFiles = long.env_file === undefined ? undefined : strings(long.env_file);
    if (long.env_file !== undefined && !envFiles) throw errorAt(layer.parsed, [...at, 'env_file'], 'env_file must be a path or a list of paths', `write ${example}`);
    return {
      files, at, pathAt: isMapping(entry) ? [...at, 'path'] : at,
      projectDirectory: typeof long.project_directory === 'string' ? path.resolve(dir, long.project_directory) : path.dirname(files[0]!),
      ...(envFiles ? { envFiles: envFiles.map((file) => path.resolve(dir, file)) } : {}),
    };
  });
}

/** What an included project brings. */
const IMPORTED = ['services', 'volumes', 'networks', 'secrets', 'configs', 'models'] as const;

/** The file with the included projects' resources joined in (the file's own merged over theirs) and its `include` key gone. */
export function importIncluded(file: Located, included: readonly Located[], tags: readonly MergeTag[]): Located {
  let result = file;
  for (const model of included) {
    for (const key of IMPORTED) {
      const from = childOf(model, key);
      if (!isMapping(from.value)) continue;
      const existing = isMapping(result.value) ? childOf(result, key) : undefined;
      let to: Located = existing && isMapping(existing.value) ? existing : { value: {}, origin: from.origin };
      for (const name of Object.keys(from.value)) {
        let item = childOf(from, name);
        if (!Object.hasOwn(to.value as Raw, name)) {
          to = withChild(to, name, item);
          continue;
        }
        // The file's !reset and !override drop what the included definition says there.
        for (const tag of tags) if (tag.path[0] === key && tag.path[1] === name && tag.path.length > 2) item = without(item, tag.path.slice(2));
        to = withChild(to, name, mergeValues(item, childOf(to, name), [key, name]));
      }
      result = withChild(result, key, to);
    }
  }
  return without(result, ['include']);
}
