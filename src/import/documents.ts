import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ProjectError } from '../project/errors.js';
import { composeWithin, parsedFileOf, parseProjectText, syntaxError, withLegacyOctal, type ParsedFile } from '../project/parse.js';
import { checkDocument, checkValuesWrittenOut, toPlainData } from '../project/limits.js';

// Which format a file is in, from its shape: Kubernetes manifests have apiVersion and kind (and may
// be several YAML documents), compose files have services:, everything else is Corral's own.

export type SourceFormat = 'corral' | 'compose' | 'kube';

/**
 * The values of mapping keys tagged `!reset` or `!override` (compose's merge tags), by path; the
 * YAML parser leaves such tags unresolved and the plain data does not keep them.
 */
/** A value tagged `!reset` or `!override` in a file, at its path (mapping keys only, as in compose); load/merge.ts applies them. */
export interface MergeTag {
  readonly path: readonly string[];
  readonly tag: '!reset' | '!override';
}

function mergeTagsOf(document: Document): MergeTag[] {
  const tags: MergeTag[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const at = [...path, String(pair.key.value)];
        const tag = (pair.value as { tag?: string } | null)?.tag;
        if (tag === '!reset' || tag === '!override') tags.push({ path: at, tag });
        else visit(pair.value, at);
      }
    } else if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...path, String(index)]));
  };
  visit(document.contents, []);
  return tags;
}

/**
 * Parses one document as a project file, or several as manifests (data: the documents, paths start
 * with the index). `tags`: compose's merge tags of a single document.
 */
export function parseSourceText(text: string, file: string): { parsed: ParsedFile; format: SourceFormat; tags: readonly MergeTag[] } {
  checkValuesWrittenOut(text, file);
  const lineCounter = new LineCounter();
  const documents = composeWithin(text, file, () => parseAllDocuments(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: true, customTags: withLegacyOctal }));
  const all = Array.isArray(documents) ? documents : [];
  const broken = all.find((document) => document.errors.length > 0);
  if (broken) throw syntaxError(broken.errors[0]!, file, text);
  const list = all.filter((document) => document.contents !== null);
  if (list.length <= 1) {
    // The one document is parsed already: a file of megabytes is not parsed twice.
    const only = list[0] ?? all[0];
    const parsed = only ? parsedFileOf(only, lineCounter, file, text) : parseProjectText(text, file);
    const data = parsed.data as Record<string, unknown> | null;
    if (data && typeof data === 'object' && 'apiVersion' in data && 'kind' in data) {
      return { parsed: { file, data: [data], locate: (path, options) => parsed.locate(path.slice(1), options) }, format: 'kube', tags: [] };
    }
    // A compose file may be all `include:`.
    const format = data && typeof data === 'object' && ('services' in data || 'include' in data) && !('pods' in data) ? 'compose' : 'corral';
    return { parsed, format, tags: only ? mergeTagsOf(only) : [] };
  }
  for (const document of list) {
    checkDocument(document, lineCounter, file);
    if (!isMap(document.contents) || !document.has('kind')) {
      const { line, col } = lineCounter.linePos(document.contents?.range?.[0] ?? 0);
      throw new ProjectError('a file of several YAML documents must be Kubernetes manifests, and this one has no kind:', { file, line, col, path: '' }, 'give each document apiVersion: and kind: (Pod, Deployment, ...), or keep a project file to one document');
    }
  }
  const data = list.map((document) => toPlainData(document, lineCounter, file));
  return {
    format: 'kube',
    tags: [],
    parsed: {
      file,
      data,
      locate(path, options = {}) {
        const document = list[Number(path[0] ?? 0)] ?? list[0]!;
        let node: unknown = document.contents;
        let keyNode: unknown;
        for (const segment of path.slice(1)) {
          const inner = (node as { items?: unknown[] } | undefined)?.items;
          if (!inner) break;
          const pair = isMap(node) ? node.items.find((item) => String((item.key as { value?: unknown })?.value) === String(segment)) : undefined;
          if (isMap(node)) {
            if (!pair) break;
            keyNode = pair.key;
            node = pair.value ?? pair.key;
          } else if (typeof segment === 'number' && inner[segment]) {
            keyNode = undefined;
            node = inner[segment];
          } else break;
        }
        const target = (options.key && keyNode ? keyNode : node) as { range?: [number] } | undefined;
        return lineCounter.linePos(target?.range?.[0] ?? 0);
      },
    },
  };
}
