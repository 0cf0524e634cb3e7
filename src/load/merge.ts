import type { MergeTag } from '../import/documents.js';
import type { Location, ParsedFile, PathSegment } from '../project/parse.js';
import { errorAt, formatPath } from '../project/parse.js';

// Several compose files, one project: each file (parsed and interpolated on its own) is merged over
// the ones before it with compose's rules (compose-go override/merge.go and override/uncity.go):
// mappings key by key; sequences appended, then those compose keeps unique (ports, volumes by
// target, environment and labels by key, ...) have an entry of a later file replace the earlier one
// in its place; `command`, `entrypoint` and `healthcheck.test` replaced; `environment`, `labels` and
// their kin merged whichever of list or mapping form each file uses; `!reset` removes a value and
// `!override` replaces it (compose-go loader/reset.go). Pure: files come in parsed.
//
// Every merged value remembers the file and path it came from, so an error found later (in the
// translation, the schema, normalising) still names the file, line and column the user wrote it at.

export type { MergeTag } from '../import/documents.js';

/** One compose file on its way into the project: parsed, its data interpolated, its merge tags. */
export interface ComposeLayer {
  readonly parsed: ParsedFile;
  readonly data: unknown;
  readonly tags: readonly MergeTag[];
}

/** Where a value of the merged project came from: a path in one file, and (for merged parts) where each child came from. */
export interface Origin {
  readonly parsed: ParsedFile;
  readonly path: readonly PathSegment[];
  readonly children?: ReadonlyMap<string, Origin>;
}

/** A value with its origin. */
export interface Located {
  readonly value: unknown;
  readonly origin: Origin;
}

type Raw = Record<string, unknown>;
type Merger = (base: Located, over: Located, at: readonly string[]) => Located;

const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

export const childOrigin = (origin: Origin, key: PathSegment): Origin => origin.children?.get(String(key)) ?? { parsed: origin.parsed, path: [...origin.path, key] };

export const childOf = (located: Located, key: PathSegment): Located => ({ value: (located.value as Record<string, unknown>)[key as string], origin: childOrigin(located.origin, key) });

/** A sequence built of located items; its own position is that of `at`. */
function sequenceOf(items: readonly Located[], at: Origin): Located {
  return { value: items.map((item) => item.value), origin: { parsed: at.parsed, path: at.path, children: new Map(items.map((item, index) => [String(index), item.origin])) } };
}

const itemsOf = (located: Located): Located[] => (located.value as unknown[]).map((_, index) => childOf(located, index));

/** Whether a merged path (`services.web.ports`) matches a pattern of compose's (`services.*.ports`). */
const matches = (at: readonly string[], pattern: readonly string[]) => at.length === pattern.length && pattern.every((part, index) => part === '*' || part === at[index]);

const pattern = (text: string) => text.split('.');

function kindOf(value: unknown): string {
  return Array.isArray(value) ? 'a list' : isMapping(value) ? 'a mapping' : 'a single value';
}

/** compose refuses to merge a mapping with a list (or either with a single value): where the later file writes it. */
function cannotMerge(base: Located, over: Located, at: readonly string[]): Error {
  const { line, col, file = base.origin.parsed.file } = base.origin.parsed.locate(base.origin.path);
  return errorAt(over.origin.parsed, over.origin.path, `${formatPath(at)} is ${kindOf(over.value)} here but ${kindOf(base.value)} in ${file}:${line}:${col}, which compose cannot merge`,
    'write it in the same form in both files, or tag this one !override to replace the other');
}

/** Key by key: a key of one file only is taken as it is; a key of both is merged. */
function mergeMappings(base: Located, over: Located, at: readonly string[]): Located {
  const value: Raw = {};
  const children = new Map<string, Origin>();
  for (const key of Object.keys(base.value as Raw)) {
    value[key] = (base.value as Raw)[key];
    children.set(key, childOrigin(base.origin, key));
  }
  for (const key of Object.keys(over.value as Raw)) {
    const merged = Object.hasOwn(value, key) ? mergeValues(childOf(base, key), childOf(over, key), [...at, key]) : childOf(over, key);
    value[key] = merged.value;
    children.set(key, merged.origin);
  }
  return { value, origin: { parsed: base.origin.parsed, path: base.origin.path, children } };
}

/** compose's default: mappings merged, sequences appended, anything else replaced; null leaves the earlier value. */
export function mergeValues(base: Located, over: Located, at: readonly string[]): Located {
  const special = MERGE_SPECIALS.find(([where]) => matches(at, where));
  if (special) return special[1](base, over, at);
  if (over.value === null || over.value === undefined) return base;
  if (isMapping(base.value)) {
    if (!isMapping(over.value)) throw cannotMerge(base, over, at);
    return mergeMappings(base, over, at);
  }
  if (Array.isArray(base.value)) {
    if (!Array.isArray(over.value)) throw cannotMerge(base, over, at);
    return sequenceOf([...itemsOf(base), ...itemsOf(over)], base.origin);
  }
  return over;
}

/** A mapping (`KEY: value`), list or single string as a list of `KEY=value` (compose-go convertIntoSequence). */
function toSequence(located: Located): Located[] {
  const { value } = located;
  if (Array.isArray(value)) return itemsOf(located);
  if (typeof value === 'string') return [located];
  if (!isMapping(value)) return [];
  return Object.keys(value).sort().flatMap((key) => {
    const inner = value[key];
    const origin = childOrigin(located.origin, key);
    if (inner === null || inner === undefined) return [{ value: key, origin }];
    return [inner].flat().map((item) => ({ value: `${key}=${String(item)}`, origin }));
  });
}

const mergeToSequence: Merger = (base, over) => sequenceOf([...toSequence(base), ...toSequence(over)], base.origin);

const replace: Merger = (_base, over) => over;

/** extra_hosts: the later file's entries not already there, appended. */
const mergeExtraHosts: Merger = (base, over) => {
  const earlier = toSequence(base);
  const seen = new Set(earlier.map((item) => JSON.stringify(item.value)));
  return sequenceOf([...earlier, ...toSequence(over).filter((item) => !seen.has(JSON.stringify(item.value)))], base.origin);
};

/** A list of names as a mapping of name to `defaults` (depends_on, networks). */
function toMapping(located: Located, defaults: Raw | null): Located {
  if (!Array.isArray(located.value)) return located;
  const value: Raw = {};
  const children = new Map<string, Origin>();
  for (const item of itemsOf(located)) {
    value[String(item.value)] = defaults === null ? null : { ...defaults };
    children.set(String(item.value), item.origin);
  }
  return { value, origin: { ...located.origin, children } };
}

const mergeAsMappings = (defaults: Raw | null): Merger => (base, over, at) => {
  const [left, right] = [toMapping(base, defaults), toMapping(over, defaults)];
  if (!isMapping(left.value) || !isMapping(right.value)) return right.value === null || right.value === undefined ? left : right;
  return mergeMappings(left, right, at);
};

/** build: a string is its context. */
const mergeBuild: Merger = (base, over, at) => {
  const asMapping = (located: Located): Located => (typeof located.value === 'string' ? { value: { context: located.value }, origin: { ...located.origin, children: new Map([['context', located.origin]]) } } : located);
  return mergeAsMappings(null)(asMapping(base), asMapping(over), at);
};

/** logging: options merged only when both files name the same driver, or one names none. */
const mergeLogging: Merger = (base, over, at) => {
  if (!isMapping(base.value) || !isMapping(over.value)) return replace(base, over, at);
  const [driver, other] = [base.value.driver, over.value.driver];
  return driver === other || driver === undefined || other === undefined ? mergeMappings(base, over, at) : over;
};

/** ipam.config: entries of the same subnet merged, the others appended. */
const mergeIpamConfig: Merger = (base, over, at) => {
  if (!Array.isArray(base.value) || !Array.isArray(over.value)) throw cannotMerge(base, over, at);
  const merged = itemsOf(base);
  for (const item of itemsOf(over)) {
    const index = merged.findIndex((earlier) => isMapping(earlier.value) && isMapping(item.value) && earlier.value.subnet === item.value.subnet);
    if (index < 0) merged.push(item);
    else merged[index] = mergeMappings(merged[index]!, item, at);
  }
  return sequenceOf(merged, base.origin);
};

/** compose-go's mergeSpecials: where the default rule is not compose's. */
const MERGE_SPECIALS: readonly (readonly [readonly string[], Merger])[] = ([
  ['networks.*.ipam.config', mergeIpamConfig],
  ['networks.*.labels', mergeToSequence],
  ['volumes.*.labels', mergeToSequence],
  ['services.*.annotations', mergeToSequence],
  ['services.*.build', mergeBuild],
  ['services.*.build.args', mergeToSequence],
  ['services.*.build.additional_contexts', mergeToSequence],
  ['services.*.build.extra_hosts', mergeExtraHosts],
  ['services.*.build.labels', mergeToSequence],
  ['services.*.command', replace],
  ['services.*.depends_on', mergeAsMappings({ condition: 'service_started', required: true })],
  ['services.*.deploy.labels', mergeToSequence],
  ['services.*.dns', mergeToSequence],
  ['services.*.dns_opt', mergeToSequence],
  ['services.*.dns_search', mergeToSequence],
  ['services.*.entrypoint', replace],
  ['services.*.env_file', mergeToSequence],
  ['services.*.label_file', mergeToSequence],
  ['services.*.environment', mergeToSequence],
  ['services.*.extra_hosts', mergeExtraHosts],
  ['services.*.healthcheck.test', replace],
  ['services.*.labels', mergeToSequence],
  ['services.*.logging', mergeLogging],
  ['services.*.models', mergeAsMappings(null)],
  ['services.*.networks', mergeAsMappings(null)],
  ['services.*.sysctls', mergeToSequence],
  ['services.*.tmpfs', mergeToSequence],
  ['services.*.ulimits.*', replace],
] as const).map(([where, merger]) => [pattern(where), merger] as const);

// What keeps an entry unique in a list once files are merged (compose-go override/uncity.go).

type Indexer = (value: unknown) => string;

/** `KEY=value` and `KEY` by KEY; any other value by itself. */
const byKey: Indexer = (value) => (typeof value === 'string' ? value.split('=')[0]! : JSON.stringify(value));

/** A mount (`./src:/app:ro`, `{ target: /app }`) by its target. */
const byTarget: Indexer = (value) => {
  if (isMapping(value)) return String(value.target);
  const parts = String(value).split(':');
  return parts.length === 1 ? parts[0]! : parts[1]!;
};

/** A secret or config by where it lands: its target, else DIR/source. */
const byMountPoint = (dir: string): Indexer => (value) => {
  if (isMapping(value)) return value.target === undefined ? `${dir}/${String(value.source)}` : String(value.target);
  return `${dir}/${String(value)}`;
};

/** A port: the short form by its text, the long form by host ip, published port, target and protocol. */
const byPort: Indexer = (value) => {
  if (!isMapping(value)) return String(value);
  return `${String(value.host_ip ?? '0.0.0.0')}:${String(value.published ?? '')}:${String(value.target)}/${String(value.protocol ?? 'tcp')}`;
};

const byEnvFile: Indexer = (value) => (isMapping(value) ? String(value.path) : String(value));

const UNIQUE: readonly (readonly [readonly string[], Indexer])[] = ([
  ['networks.*.labels', byKey],
  ['networks.*.ipam.options', byKey],
  ['services.*.annotations', byKey],
  ['services.*.build.args', byKey],
  ['services.*.build.additional_contexts', byKey],
  ['services.*.build.platform', byKey],
  ['services.*.build.tags', byKey],
  ['services.*.build.labels', byKey],
  ['services.*.cap_add', byKey],
  ['services.*.cap_drop', byKey],
  ['services.*.configs', byMountPoint('')],
  ['services.*.deploy.labels', byKey],
  ['services.*.dns', byKey],
  ['services.*.dns_opt', byKey],
  ['services.*.dns_search', byKey],
  ['services.*.environment', byKey],
  ['services.*.env_file', byEnvFile],
  ['services.*.expose', String],
  ['services.*.labels', byKey],
  ['services.*.links', byKey],
  ['services.*.networks.*.aliases', byKey],
  ['services.*.networks.*.link_local_ips', byKey],
  ['services.*.ports', byPort],
  ['services.*.profiles', byKey],
  ['services.*.secrets', byMountPoint('/run/secrets')],
  ['services.*.sysctls', byKey],
  ['services.*.tmpfs', byKey],
  ['services.*.volumes', byTarget],
  ['services.*.devices', byTarget],
] as const).map(([where, indexer]) => [pattern(where), indexer] as const);

/** Lists compose keeps unique: a later entry with the key of an earlier one takes its place. */
export function enforceUnicity(located: Located, at: readonly string[]): Located {
  const { value } = located;
  if (isMapping(value)) {
    const out: Raw = {};
    const children = new Map<string, Origin>();
    for (const key of Object.keys(value)) {
      const inner = enforceUnicity(childOf(located, key), [...at, key]);
      out[key] = inner.value;
      children.set(key, inner.origin);
    }
    return { value: out, origin: { ...located.origin, children } };
  }
  const unique = Array.isArray(value) ? UNIQUE.find(([where]) => matches(at, where)) : undefined;
  if (!unique) return located;
  const kept: Located[] = [];
  const indexOf = new Map<string, number>();
  for (const item of itemsOf(located)) {
    const key = unique[1](item.value);
    const earlier = indexOf.get(key);
    if (earlier === undefined) {
      indexOf.set(key, kept.length);
      kept.push(item);
    } else kept[earlier] = item;
  }
  return sequenceOf(kept, located.origin);
}

/** A mapping with `key` set to `child` (its value and origin). */
export function withChild(located: Located, key: string, child: Located): Located {
  const value: Raw = { ...(isMapping(located.value) ? located.value : {}), [key]: child.value };
  const children = new Map<string, Origin>(Object.keys(value).map((name) => [name, childOrigin(located.origin, name)]));
  children.set(key, child.origin);
  return { value, origin: { ...located.origin, children } };
}

/** The value without the mapping key at `path` (when there is one). */
export function without(located: Located, path: readonly string[]): Located {
  const [key, ...rest] = path;
  if (key === undefined || !isMapping(located.value) || !Object.hasOwn(located.value, key)) return located;
  const children = new Map<string, Origin>(Object.keys(located.value).map((name) => [name, childOrigin(located.origin, name)]));
  const value: Raw = { ...located.value };
  if (rest.length === 0) {
    delete value[key];
    children.delete(key);
  } else {
    const inner = without(childOf(located, key), rest);
    value[key] = inner.value;
    children.set(key, inner.origin);
  }
  return { value, origin: { ...located.origin, children } };
}

/** What merging needs besides the files: how `extends` finds services in other files. */
export interface MergeOptions {
  /** Brings in what the file's `include` names (see include.ts), before extends; default: nothing. */
  readonly include?: (file: Located, tags: readonly MergeTag[], index: number) => Located;
  /** Applies the `extends` of each service of a file (see extends.ts); default: none. */
  readonly extend?: (file: Located, tags: readonly MergeTag[]) => { located: Located; extended: boolean };
}

/** A located value as a ParsedFile of `file`, whose positions are those of the files each part came from. */
export function parsedFileOf(located: Located, file: string): ParsedFile {
  return {
    file,
    data: located.value,
    locate(path, options): Location {
      const origin = path.reduce<Origin>((inner, segment) => childOrigin(inner, segment), located.origin);
      const { line, col, file: at = origin.parsed.file } = origin.parsed.locate(origin.path, options);
      return { line, col, file: at };
    },
  };
}

/** The project of several compose files merged, as one ParsedFile whose positions are those of the file each value came from. */
export function mergeComposeLayers(layers: readonly ComposeLayer[], options: MergeOptions = {}): ParsedFile {
  return parsedFileOf(mergeLayers(layers, options), layers[0]!.parsed.file);
}

/** Several compose files merged, each value with its origin. */
export function mergeLayers(layers: readonly ComposeLayer[], options: MergeOptions = {}): Located {
  if (layers.length === 0) throw new RangeError('merging needs at least one file');
  let merged: Located | undefined;
  let appended = false;
  for (const [index, layer] of layers.entries()) {
    let own: Located = { value: layer.data, origin: { parsed: layer.parsed, path: [] } };
    for (const { path, tag } of layer.tags) {
      // !reset and !override both drop what the earlier files said; !reset also what this one says.
      if (merged) merged = without(merged, path);
      if (tag === '!reset') own = without(own, path);
    }
    if (options.include) {
      const before = own;
      own = options.include(own, layer.tags, index);
      appended ||= own !== before;
    }
    if (options.extend) {
      const { located, extended } = options.extend(own, layer.tags);
      own = located;
      appended ||= extended;
    }
    merged = merged === undefined ? own : mergeValues(merged, own, []);
  }
  // Appending (of several files, of a service and the one it extends, of resources included twice) may repeat what compose keeps unique.
  return layers.length > 1 || appended ? enforceUnicity(merged!, []) : merged!;
}
