import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ScalarTag, type Tags, type YAMLError } from 'yaml';

/**
 * `mode: 0440` is octal 0440 (288) to compose-go and Kubernetes, whose YAML readers take a leading 0
 * as octal; YAML 1.2 reads it as decimal 440, which gave secrets and configs the wrong permissions
 * (a security bug). Every project file reads it as they do; `0o440` and a quoted "0440" are as before.
 */
const LEGACY_OCTAL_INT: ScalarTag = {
  identify: (value) => typeof value === 'number' && Number.isInteger(value),
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (text) => Number.parseInt(text, 8),
};

/** The schema's tags with LEGACY_OCTAL_INT first (the core schema would take 0440 as decimal before it). */
export const withLegacyOctal = (tags: Tags): Tags => [LEGACY_OCTAL_INT, ...tags];
import { ProjectError } from './errors.js';
import { formatPath, type ParsedFile, type PathSegment } from './parsed-file.js';

// What the later stages and the runtime use (positions, errors at a path) lives in parsed-file.ts,
// which does not load the YAML parser: `down` and the supervisor reach it through the runtime.
export { errorAt, formatPath, whereAt, type Location, type ParsedFile, type PathSegment } from './parsed-file.js';
import { checkDocument, checkValuesWrittenOut, deepestPointOf, toPlainData, tooDeep } from './limits.js';

// Stage 1: YAML text -> plain object, keeping the document so that any later stage can turn the
// path of a value (`pods.web.containers`) back into the line and column the user typed it at.

function findNode(document: Document, path: readonly PathSegment[], key: boolean): Node | undefined {
  let node: unknown = document.contents;
  let keyNode: unknown;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return node as Node;
      keyNode = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      keyNode = undefined;
      node = node.items[segment] ?? node;
    } else {
      return (node as Node) ?? undefined;
    }
  }
  return (key && keyNode ? keyNode : node) as Node | undefined;
}

/** The first error yaml found, as Corral's own: `YAML syntax: what` at its line and column. */
export function syntaxError(error: YAMLError, file: string, text: string): ProjectError {
  // yaml turns its own stack overflow on thousands of nested brackets into an error of the document.
  if (/Maximum call stack/.test(error.message)) return tooDeep(file, deepestPointOf(text));
  const position = error.linePos?.[0] ?? { line: 1, col: 1 };
  const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const hint = error.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping; remove or rename the duplicate' : 'fix the YAML syntax (indentation, quotes, brackets)';
  return new ProjectError(`YAML syntax: ${what}`, { file, line: position.line, col: position.col, path: '' }, hint);
}

/**
 * Parses with yaml's composer, which recurses once per level: a file nested thousands of levels
 * deep runs it out of stack, and is refused at the level where the limit is passed.
 */
export function composeWithin<T>(text: string, file: string, compose: () => T): T {
  try {
    return compose();
  } catch (error) {
    if (error instanceof RangeError) throw Object.assign(tooDeep(file, deepestPointOf(text)), { cause: error });
    throw error;
  }
}

/** Parses YAML (anchors and merge keys allowed, duplicate keys refused, within LOADER_LIMITS) into a plain object. */
export function parseProjectText(text: string, file: string): ParsedFile {
  checkValuesWrittenOut(text, file);
  const lineCounter = new LineCounter();
  // uniqueKeys is checked by checkDocument, in linear time.
  const document = composeWithin(text, file, () => parseDocument(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: true, customTags: withLegacyOctal }));
  return parsedFileOf(document, lineCounter, file, text);
}

/** A parsed YAML document as plain data with its positions, once it has no syntax error and keeps within LOADER_LIMITS. */
export function parsedFileOf(document: Document, lineCounter: LineCounter, file: string, text: string): ParsedFile {
  const first = document.errors[0];
  if (first) throw syntaxError(first, file, text);
  checkDocument(document, lineCounter, file);
  const data = toPlainData(document, lineCounter, file);
  return {
    file,
    data,
    locate(path, options = {}) {
      const node = findNode(document, path, options.key ?? false);
      const offset = node?.range?.[0] ?? 0;
      return lineCounter.linePos(offset);
    },
  };
}
