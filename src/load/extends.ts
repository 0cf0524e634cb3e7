import path from 'node:path';
import { errorAt, type ParsedFile, type PathSegment } from '../project/parse.js';
import { withAbsolutePaths } from './paths.js';
import { childOf, mergeValues, without, type ComposeLayer, type Located, type MergeTag } from './merge.js';

// compose's `extends` (compose-go loader/extends.go): a service starts from another one, of the same
// file (`extends: web` or `{ service: web }`) or of another (`{ file: common.yaml, service: web }`),
// and is merged over it with the rules of several files. Relative paths of a service taken from
// another file are that file's directory's (they are made absolute); `extends.file` in the project's
// own files is relative to the project directory, in an extended file to that file's directory.
// Pure: the other files come in parsed and interpolated.

type Raw = Record<string, unknown>;

export interface ExtendsOptions {
  /** The files `extends.file` names (and those they name), parsed and interpolated, by absolute path. */
  readonly files: ReadonlyMap<string, ComposeLayer>;
}

const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A file `extends.file` names: its absolute path, and where it is named. */
export interface ExtendedFile {
  readonly file: string;
  readonly namedIn: ParsedFile;
  readonly at: readonly PathSegment[];
}

/** The `extends.file` paths of a file's services, for the loader to read before merging. */
export function extendsFilesOf(layer: ComposeLayer, dir: string): ExtendedFile[] {
  const { data } = layer;
  const services = isMapping(data) && isMapping(data.services) ? data.services : {};
  return Object.entries(services).flatMap(([name, service]) => {
    const extend = isMapping(service) ? service.extends : undefined;
    return isMapping(extend) && typeof extend.file === 'string' ? [{ file: path.resolve(dir, extend.file), namedIn: layer.parsed, at: ['services', name, 'extends', 'file'] }] : [];
  });
}

function refused(at: Located, what: string, hint: string): Error {
  return errorAt(at.origin.parsed, at.origin.path, what, hint);
}

interface Scope {
  /** The services mapping of the file the service is in. */
  readonly services: Located;
  /** The file's path, for messages and cycles. */
  readonly file: string;
  /** Where its `extends.file` paths are relative to. */
  readonly dir: string;
  /** Its merge tags: `!reset` and `!override` in a service drop what the service it extends says there. */
  readonly tags: readonly MergeTag[];
}

/** The service `name` of `scope` with its extends applied, recursively; `chain`: the services on the way, to refuse a cycle. */
function extendService(name: string, scope: Scope, options: ExtendsOptions, chain: readonly string[]): Located {
  const service = childOf(scope.services, name);
  if (!isMapping(service.value) || service.value.extends === undefined) return service;
  const at = childOf(service, 'extends');
  const extend = at.value;
  const example = 'write extends: base, or extends: { file: common.yaml, service: base }';
  const reference = typeof extend === 'string' ? extend : isMapping(extend) ? extend.service : undefined;
  if (typeof reference !== 'string') throw refused(at, `extends of service ${name} names no service`, example);
  const fileName = isMapping(extend) ? extend.file : undefined;
  if (fileName !== undefined && typeof fileName !== 'string') throw refused(at, `extends.file of service ${name} must be a path`, example);
  let base = scope;
  if (fileName !== undefined) {
    const file = path.resolve(scope.dir, fileName);
    const layer = options.files.get(file);
    if (!layer) throw refused(at, `extends.file of service ${name}: ${file} was not read`, 'check the path');
    let root: Located = { value: layer.data, origin: { parsed: layer.parsed, path: [] } };
    for (const tag of layer.tags) if (tag.tag === '!reset') root = without(root, tag.path);
    const services = childOf(root, 'services');
    if (!isMapping(services.value)) throw refused(at, `cannot extend service ${name}: ${file} has no services`, 'name a file of compose services');
    base = { services, file, dir: path.dirname(file), tags: layer.tags };
  }
  if (!isMapping(base.services.value) || !Object.hasOwn(base.services.value, reference)) {
    throw refused(at, `cannot extend service ${name}: there is no service ${reference} in ${base.file}`, `name one of: ${Object.keys(isMapping(base.services.value) ? base.services.value : {}).join(', ') || 'none'}`);
  }
  const link = `${base.file}:${reference}`;
  if (chain.includes(link)) throw refused(at, `service ${name} extends ${reference}, which leads back to it (${[...chain, link].join(' -> ')})`, 'break the cycle of extends');
  let from = extendService(reference, base, options, [...chain, link]);
  if (base !== scope) from = { value: withAbsolutePaths(from.value, base.dir), origin: from.origin };
  // !reset and !override in the extending service drop what the base says there.
  for (const tag of scope.tags) {
    const [top, service, ...rest] = tag.path;
    if (top === 'services' && service === name && rest.length > 0) from = without(from, rest);
  }
  const merged = mergeValues(from, without(service, ['extends']), ['services', name]);
  // The service itself is where it is written, its keys where each came from.
  return { value: merged.value, origin: { ...merged.origin, parsed: service.origin.parsed, path: service.origin.path } };
}

/** A file's services with their `extends` applied; `extended`: whether any had one. */
export function applyExtends(file: Located, tags: readonly MergeTag[], options: ExtendsOptions & {
  /** The file's path, and the directory its `extends.file` paths are relative to (the project directory). */
  file: string; dir: string;
}): { located: Located; extended: boolean } {
  const services = childOf(file, 'services');
  if (!isMapping(file.value) || !isMapping(services.value)) return { located: file, extended: false };
  const names = Object.keys(services.value).filter((name) => isMapping((services.value as Raw)[name]) && ((services.value as Raw)[name] as Raw).extends !== undefined);
  if (names.length === 0) return { located: file, extended: false };
  const scope: Scope = { services, file: options.file, dir: options.dir, tags };
  const value: Raw = { ...services.value };
  const children = new Map(Object.keys(services.value).map((name) => [name, childOf(services, name).origin]));
  for (const name of names) {
    const extended = extendService(name, scope, options, [`${options.file}:${name}`]);
    value[name] = extended.value;
    children.set(name, extended.origin);
  }
  const withServices: Located = { value: { ...file.value, services: value }, origin: { ...file.origin, children: new Map([...Object.keys(file.value).map((key) => [key, childOf(file, key).origin] as const), ['services', { ...services.origin, children }]]) } };
  return { located: withServices, extended: true };
}
