import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';
import validateAgainstSchema from './schema-validator.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt, formatPath } from './parse.js';
import { ProjectError } from './errors.js';
import { findPackageFile } from '../package-file.js';

// Stage 3: the interpolated data against schemas/corral.schema.json. Of all that ajv finds, one
// error is reported, the most specific: the deepest path, an unknown key before anything else, and
// in words users know (mapping, list) with the fix, such as the allowed keys or the closest one.

// The validator is compiled at build time (scripts/compile-schema.mjs); the schema itself is read
// only to describe what was expected when something is wrong.
let schema: SchemaNode | undefined;
const schemaDocument = () => (schema ??= createRequire(import.meta.url)(findPackageFile('schemas/corral.schema.json', 'reinstall Corral')) as SchemaNode);

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'empty',
};

interface SchemaNode { type?: string | string[]; oneOf?: SchemaNode[]; description?: string; $ref?: string; properties?: Record<string, unknown>; enum?: unknown[] }

/** Follows a local `$ref` (`#/$defs/name`) within the schema document. */
function resolveRef(node: SchemaNode): SchemaNode {
  if (!node.$ref?.startsWith('#/')) return node;
  const resolved = node.$ref.slice(2).split('/').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], schemaDocument());
  return (resolved as SchemaNode | undefined) ?? node;
}

/** "a string or a list", from the schema's types. */
function describeExpected(node: SchemaNode): string {
  const resolved = resolveRef(node);
  const branches = resolved.oneOf?.map(resolveRef) ?? [resolved];
  const words = branches.flatMap((branch) => (branch.enum ? [`one of ${branch.enum.map((value) => JSON.stringify(value)).join(', ')}`] : [branch.type ?? []].flat().map((type) => TYPE_WORDS[type] ?? type)));
  return [...new Set(words)].join(' or ');
}

function pathOf(error: ErrorObject): PathSegment[] {
  const segments = error.instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  return segments.map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The candidate within two edits of `name`, for a "did you mean". */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  return candidates.find((candidate) => editDistance(candidate, name) <= 2);
}

function typeOfValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return TYPE_WORDS[typeof value] ?? typeof value;
}

/** Depth of an error; an unknown key counts one deeper, since it points at the key itself. */
function depthOf(error: ErrorObject): number {
  const pointsAtKey = error.keyword === 'additionalProperties' || error.keyword === 'required' || 'propertyName' in error;
  return pathOf(error).length + (pointsAtKey ? 1 : 0);
}

// Within a oneOf, the branch whose type fits says more (a bad pattern) than the oneOf itself.
const KEYWORD_RANK: Record<string, number> = { additionalProperties: 0, required: 1, propertyNames: 2, enum: 3, pattern: 3, minProperties: 3, uniqueItems: 3,
  minimum: 3, maximum: 3, exclusiveMinimum: 3, exclusiveMaximum: 3, oneOf: 4, type: 6 };

const bySpecificity = (a: ErrorObject, b: ErrorObject) => depthOf(b) - depthOf(a) || (KEYWORD_RANK[a.keyword] ?? 9) - (KEYWORD_RANK[b.keyword] ?? 9);

/** Where an error points: its value's path, or for a key error the key's. */
function siteOf(error: ErrorObject): string[] {
  const key = (error.params as { additionalProperty?: string; missingProperty?: string }).additionalProperty
    ?? (error.params as { missingProperty?: string }).missingProperty
    ?? (error as ErrorObject & { propertyName?: string }).propertyName;
  return [...pathOf(error).map(String), ...(key === undefined ? [] : [`\u0000${key}`])];
}

const isPrefix = (prefix: readonly string[], of: readonly string[]) => prefix.length <= of.length && prefix.every((segment, index) => of[index] === segment);

/**
 * One error per problem: the most specific first; an error at the same place as, or around, one
 * already taken (a oneOf around the branch that says more, the same bad key name reported twice)
 * adds nothing and is left out.
 */
function distinctProblems(errors: readonly ErrorObject[]): ErrorObject[] {
  const taken: string[][] = [];
  const problems: ErrorObject[] = [];
  for (const error of [...errors].sort(bySpecificity)) {
    const site = siteOf(error);
    if (taken.some((other) => isPrefix(site, other))) continue;
    taken.push(site);
    problems.push(error);
  }
  return problems;
}

/** The keys of a oneOf or anyOf whose branches each require one key (rootfs | image | build), if it is one. */
function alternativeKeys(error: ErrorObject): string[] | undefined {
  if (error.keyword !== 'oneOf' && error.keyword !== 'anyOf') return undefined;
  const branches = error.schema as { required?: string[] }[] | undefined;
  const single = branches?.every((branch) => Object.keys(branch).length === 1 && branch.required?.length === 1);
  return single ? branches!.map((branch) => branch.required![0]!) : undefined;
}

/** Errors inside a choice of keys say less than the choice itself ("environment is missing" of file | environment | content). */
function withoutErrorsInsideChoices(errors: readonly ErrorObject[]): ErrorObject[] {
  const choices = errors.filter((error) => alternativeKeys(error));
  return errors.filter((error) => !choices.some((choice) => error !== choice && error.instancePath === choice.instancePath && error.schemaPath.startsWith(`${choice.schemaPath}/`)));
}

/** The path of the first string value holding a NUL character, which no name, path, command or environment can carry. */
function nulCharacterAt(data: unknown): PathSegment[] | undefined {
  const stack: { value: unknown; path: PathSegment[] }[] = [{ value: data, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string' && value.includes('\u0000')) return path;
    if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
    else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) stack.push({ value: inner, path: [...path, key] });
  }
  return undefined;
}

/** Throws a ProjectError listing every schema violation (the first is its own message), if any. */
export function validateProjectData(parsed: ParsedFile, data: unknown): void {
  const nul = nulCharacterAt(data);
  if (nul) throw errorAt(parsed, nul, 'a NUL character in a value', 'remove it: no name, path, command or environment variable can carry one');
  if (validateAgainstSchema(data)) return;
  const problems = distinctProblems(withoutErrorsInsideChoices(validateAgainstSchema.errors ?? [])).map((error) => describeProblem(parsed, data, error));
  throw ProjectError.inFileOrder(problems);
}

const BOUND_WORDS: Record<string, string> = { minimum: 'at least', maximum: 'at most', exclusiveMinimum: 'more than', exclusiveMaximum: 'less than' };

function describeProblem(parsed: ParsedFile, data: unknown, error: ErrorObject): ProjectError {
  const path = pathOf(error);
  const parent = error.parentSchema as SchemaNode | undefined;
  const value = path.reduce<unknown>((inner, segment) => (inner as Record<string, unknown> | undefined)?.[segment as string], data);
  // A value is named with its key, an item of a list with its list: share[1], not 1.
  const lastKey = path.map((segment) => typeof segment === 'string').lastIndexOf(true);
  const where = path.length > 0 ? formatPath(path.slice(Math.max(lastKey, 0))) : 'the project file';

  const unknownKey = (key: string, allowed: readonly string[]) => {
    const close = closestName(key, allowed);
    const hint = `${close ? `did you mean "${close}"? ` : ''}allowed keys here: ${allowed.join(', ')}`;
    return errorAt(parsed, [...path, key], `unknown key ${JSON.stringify(key)}`, hint, { key: true });
  };
  const choice = alternativeKeys(error);
  if (choice) {
    const given = choice.filter((key) => value && typeof value === 'object' && key in value);
    const words = (keys: readonly string[]) => keys.length > 1 ? `${keys.slice(0, -1).join(', ')} or ${keys.at(-1)}` : keys.join('');
    if (given.length > 1) return errorAt(parsed, path, `${where} has ${given.join(' and ')}, which exclude each other`, `keep only one of ${words(choice)}`);
    return errorAt(parsed, path, `${where} needs one of ${words(choice)}`, `add ${words(choice.map((key) => `${key}:`))}`);
  }
  // ajv reports a bad key name (propertyNames) with the keyword that refused it and the name.
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName ?? (error.params as { propertyName?: string }).propertyName;
  if (propertyName !== undefined && error.keyword === 'enum') return unknownKey(propertyName, (error.schema as string[]).map(String));

  switch (error.keyword) {
    case 'additionalProperties':
      return unknownKey(String((error.params as { additionalProperty: string }).additionalProperty), Object.keys(parent?.properties ?? {}));
    case 'not': {
      const excluded = ((error.schema as { anyOf?: { required?: string[] }[] }).anyOf ?? []).map((branch) => branch.required ?? [])
        .find((keys) => keys.length > 0 && keys.every((key) => value && typeof value === 'object' && key in value));
      if (excluded) return errorAt(parsed, path, `${where} has both ${excluded.join(' and ')}, which exclude each other`, `keep only one of ${excluded.join(' and ')}`);
      return errorAt(parsed, path, `${where} combines keys that exclude each other`, parent?.description ?? 'keep only one of them');
    }
    case 'minProperties':
    case 'minItems':
      return errorAt(parsed, path, `${where} is empty`, `add at least one entry${parent?.description ? ` (${parent.description.replace(/\.$/, '')})` : ''}`);
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      return errorAt(parsed, path, `"${missing}" is missing`, `add ${missing}: to this mapping`);
    }
    case 'propertyNames':
    case 'pattern': {
      // ajv reports a bad key name as a pattern error carrying the name in `propertyName`.
      if (propertyName !== undefined) {
        const hint = parent?.description ? 'use lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters' : `a name here must match ${(error.params as { pattern?: string }).pattern ?? 'the pattern'}`;
        return errorAt(parsed, [...path, propertyName], `invalid name ${JSON.stringify(propertyName)}`, hint, { key: true });
      }
      return errorAt(parsed, path, `${JSON.stringify(value)} is not a valid ${where}`, parent?.description ?? `it must match ${(error.params as { pattern: string }).pattern}`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const { limit } = error.params as { limit: number };
      return errorAt(parsed, path, `${where} must be ${BOUND_WORDS[error.keyword]} ${limit}, not ${JSON.stringify(value)}`, parent?.description ?? `write a number ${BOUND_WORDS[error.keyword]} ${limit}`);
    }
    default: {
      const expected = parent ? describeExpected(parent) : 'something else';
      const hint = parent?.description ?? `write ${expected}`;
      return errorAt(parsed, path, `${where} must be ${expected}, not ${typeOfValue(value)}`, hint);
    }
  }
}
