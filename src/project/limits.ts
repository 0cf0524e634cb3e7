import { open } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { countValuesWrittenOut } from './count-values.js';
import { ProjectError } from './errors.js';

// What a project file may cost to load. A file is read from places users do not always control (a
// git branch, a download), so a hostile one (megabytes of data, thousands of nested brackets, an
// alias bomb, a mapping of 100000 keys) must be refused quickly, at its line, before it eats memory
// or time. Real project files stay far below every limit.

export const LOADER_LIMITS = Object.freeze({
  /** Bytes of the project file; checked while reading, before parsing. */
  maxFileBytes: 4 * 1024 * 1024,
  /** Mappings and lists inside one another; a project file needs about 10. */
  maxDepth: 64,
  /** Alias expansions (yaml's maxAliasCount): anchors are for sharing a block or two, not for bombs. */
  maxAliasCount: 1000,
  /** Values of one document once aliases are expanded (those written out are counted before composing). */
  maxValues: 1_000_000,
});

const MiB = 1024 * 1024;

/** The error for a file over the size limit (found while reading, so at its start). */
export function fileTooLarge(file: string, bytes: number): ProjectError {
  const size = bytes > LOADER_LIMITS.maxFileBytes ? `more than ${LOADER_LIMITS.maxFileBytes / MiB} MiB` : `${bytes} bytes`;
  return new ProjectError(`the file is too large (${size}; at most ${LOADER_LIMITS.maxFileBytes / MiB} MiB)`, { file, line: 1, col: 1, path: '' },
    'a project file describes pods and volumes: keep data in files it mounts, and generated content out of it');
}

interface Position { line: number; col: number }

function at(file: string, position: Position, what: string, hint: string): ProjectError {
  return new ProjectError(what, { file, line: position.line, col: position.col, path: '' }, hint);
}

/** Line and column (1-based) of an offset, counted afresh: the composer may have stopped before its line counter saw the whole text. */
function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

/**
 * Where a text nests deeper than the limit, for when the YAML composer itself ran out of stack:
 * the first bracket past the limit, or the first line indented past it; the start otherwise.
 */
export function deepestPointOf(text: string): Position {
  let flowDepth = 0;
  let quote: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === '[' || char === '{') {
      if (++flowDepth > LOADER_LIMITS.maxDepth) return positionAt(text, index);
    } else if (char === ']' || char === '}') flowDepth--;
  }
  const deepLine = new RegExp(`^ {${2 * LOADER_LIMITS.maxDepth}}`, 'm').exec(text);
  return positionAt(text, deepLine?.index ?? 0);
}

export function tooDeep(file: string, position: Position): ProjectError {
  return at(file, position, `the file nests deeper than ${LOADER_LIMITS.maxDepth} levels`, 'flatten the structure: a project file needs about 10 levels (pods.NAME.containers.NAME.healthcheck.http.port)');
}

/** A key as yaml compares them for uniqueness: a scalar's type and value. */
const keyOf = (node: unknown) => (isScalar(node) ? `${typeof node.value}:${String(node.value)}` : undefined);

/**
 * Walks the parsed document once, without expanding aliases: refuses nesting past the limit, a key
 * twice in one mapping (yaml's own check compares every pair, which a mapping of 100000 keys turns
 * into minutes) and tags that yaml cannot resolve (which it would keep as plain strings), except
 * compose's !reset and !override.
 */
export function checkDocument(document: Document, lineCounter: LineCounter, file: string): void {
  // compose's merge tags are for the loader to honour (see load/merge.ts).
  const tagProblem = document.warnings.find((warning) => warning.code === 'TAG_RESOLVE_FAILED' && !/^Unresolved tag: !(reset|override)\b/.test(warning.message));
  if (tagProblem) {
    throw at(file, tagProblem.linePos?.[0] ?? { line: 1, col: 1 }, `YAML tag not supported: ${tagProblem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      'remove the tag: Corral reads plain YAML values (strings, numbers, true/false, lists, mappings)');
  }
  const positionOf = (node: Node | null | undefined) => lineCounter.linePos(node?.range?.[0] ?? 0);
  const stack: { node: unknown; depth: number }[] = [{ node: document.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > LOADER_LIMITS.maxDepth) throw tooDeep(file, positionOf(node));
    if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
      continue;
    }
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      if (isMap(pair.key) || isSeq(pair.key) || isAlias(pair.key)) {
        throw at(file, positionOf(pair.key as Node), 'YAML key is a list, a mapping or an alias', 'write keys as plain names; values can be lists and mappings');
      }
      const key = keyOf(pair.key);
      if (key !== undefined) {
        if (seen.has(key)) {
          throw at(file, positionOf(pair.key as Node), `YAML syntax: Map keys must be unique: "${String((pair.key as { value: unknown }).value)}" appears twice`, 'each key may appear once in a mapping; remove or rename the duplicate');
        }
        seen.add(key);
      }
      stack.push({ node: pair.key, depth: depth + 1 }, { node: pair.value, depth: depth + 1 });
    }
  }
}

const aliasHint = 'use fewer aliases (*name) of blocks that contain aliases, or write the values out';

/** The error for a document of more than maxValues values, at its first alias (at the start of the file without one). */
function tooManyValues(file: string, position: Position): ProjectError {
  return at(file, position, `the file expands to more than ${LOADER_LIMITS.maxValues} values`, aliasHint);
}

/**
 * Whether a text has enough indicators for countValuesWrittenOut to find more than maxValues
 * values: it counts a document's root and, at most, one value per `-`, `:`, `[` and `,`. A text
 * with fewer (every real project file) is not lexed twice; this scan takes milliseconds.
 */
function mayHoldMoreValuesThanTheLimit(text: string): boolean {
  let indicators = 1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // '-', ':', '[', ','
    if ((code === 45 || code === 58 || code === 91 || code === 44) && ++indicators > LOADER_LIMITS.maxValues) return true;
  }
  return false;
}

/**
 * Refuses, before the text is composed, a document with more values written out than maxValues:
 * composing them would cost seconds and a gigabyte for a refusal (count-values.ts). The error is
 * the one toPlainData gives, at the same place: the document's first alias, or the file's start.
 * Like the size limit, it comes before the other checks: a file of too many values that also has
 * a syntax error or a duplicate key is refused for its values, without composing.
 */
export function checkValuesWrittenOut(text: string, file: string): void {
  if (!mayHoldMoreValuesThanTheLimit(text)) return;
  const overLimit = countValuesWrittenOut(text).find((document) => document.atLeast > LOADER_LIMITS.maxValues);
  if (overLimit) throw tooManyValues(file, positionAt(text, overLimit.firstAliasOffset ?? 0));
}

/**
 * The first node of the document (in text order) that `matches`: where an expansion that failed
 * starts. Lists tagged !!omap or !!pairs hold pairs, which are walked too: the first alias is then
 * the first one in the text, the one checkValuesWrittenOut finds among the tokens.
 */
function firstNodeOf(document: Document, matches: (node: unknown) => boolean): Node | undefined {
  const stack: unknown[] = [document.contents];
  let first: Node | undefined;
  while (stack.length > 0) {
    const node = stack.pop();
    if (matches(node) && (first === undefined || ((node as Node).range?.[0] ?? 0) < (first.range?.[0] ?? 0))) first = node as Node;
    if (isMap(node)) for (const pair of node.items) stack.push(pair.key, pair.value);
    else if (isSeq(node)) for (const item of node.items) stack.push(item);
    else if (isPair(node)) stack.push(node.key, node.value);
  }
  return first;
}

const isMergeKey = (node: unknown) => isScalar(node) && (node.source === '<<' || typeof node.value === 'symbol');

/**
 * The document as plain data, aliases expanded within the limits: an alias bomb fails after at most
 * maxAliasCount expansions, and what the aliases expand to is counted (and its depth measured)
 * without walking more than maxValues values.
 */
export function toPlainData(document: Document, lineCounter: LineCounter, file: string): unknown {
  const aliasAt = () => lineCounter.linePos(firstNodeOf(document, isAlias)?.range?.[0] ?? 0);
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: LOADER_LIMITS.maxAliasCount });
  } catch (error) {
    const message = (error as Error).message;
    if (/Excessive alias count/.test(message)) throw Object.assign(at(file, aliasAt(), `YAML aliases expand more than ${LOADER_LIMITS.maxAliasCount} times (an alias bomb?)`, aliasHint), { cause: error });
    if (/merge/i.test(message)) {
      const mergeAt = lineCounter.linePos(firstNodeOf(document, isMergeKey)?.range?.[0] ?? 0);
      throw Object.assign(at(file, mergeAt, `YAML merge key: ${message}`, 'merge (<<:) only mappings, or aliases of mappings'), { cause: error });
    }
    const unresolved = /Unresolved alias.*: (.+)$/.exec(message)?.[1];
    const unresolvedAt = unresolved === undefined ? aliasAt() : lineCounter.linePos(firstNodeOf(document, (node) => isAlias(node) && node.source === unresolved)?.range?.[0] ?? 0);
    throw Object.assign(at(file, unresolvedAt, `YAML alias: ${message}`, 'fix the anchors (&name) and aliases (*name): each alias after its anchor'), { cause: error });
  }
  let values = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: data, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (++values > LOADER_LIMITS.maxValues) throw tooManyValues(file, aliasAt());
    if (value === null || typeof value !== 'object') continue;
    // Only aliases nest data deeper than the document itself, which checkDocument measured.
    if (depth > LOADER_LIMITS.maxDepth) throw tooDeep(file, aliasAt());
    for (const inner of Object.values(value)) stack.push({ value: inner, depth: depth + 1 });
  }
  return data;
}

/** Reads a project file as UTF-8, refusing one over maxFileBytes without reading more than that (a FIFO, /dev/zero). */
export async function readWithinLimit(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read({ buffer: Buffer.alloc(64 * 1024) });
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      length += bytesRead;
      if (length > LOADER_LIMITS.maxFileBytes) throw fileTooLarge(file, length);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
