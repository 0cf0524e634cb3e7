import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ProjectError } from './errors.js';

// Stage 1: YAML text -> plain object, keeping the document so that any later stage can turn the
// path of a value (`pods.web.containers`) back into the line and column the user typed it at.

export type PathSegment = string | number;

export interface ParsedFile {
  readonly file: string;
  readonly data: unknown;
  /** Line and column (1-based) of the value at `path`, or of its key with `{ key: true }`. */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): { line: number; col: number };
}

/** Dotted path as users read it: `pods.web.containers.app.volumes[1]`. */
export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}

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

/** Parses YAML (anchors and merge keys allowed, duplicate keys refused) into a plain object. */
export function parseProjectText(text: string, file: string): ParsedFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: true });
  const first = document.errors[0];
  if (first) {
    const position = first.linePos?.[0] ?? { line: 1, col: 1 };
    const what = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const hint = first.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping; remove or rename the duplicate' : 'fix the YAML syntax (indentation, quotes, brackets)';
    throw new ProjectError(`YAML syntax: ${what}`, { file, line: position.line, col: position.col, path: '' }, hint);
  }
  const data = document.toJS({ maxAliasCount: 1000 }) as unknown;
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

/** A ProjectError at the value (or key) of `path` in a parsed file. */
export function errorAt(parsed: ParsedFile, path: readonly PathSegment[], what: string, hint: string, options: { key?: boolean } = {}): ProjectError {
  const { line, col } = parsed.locate(path, options);
  return new ProjectError(what, { file: parsed.file, line, col, path: formatPath(path) }, hint);
}
