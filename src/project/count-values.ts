import { CST, Lexer } from 'yaml';

// Stage 0 of parsing: how many values each YAML document of a text certainly has, counted from
// yaml's lexer tokens before anything is composed. yaml's parser and composer build a node for
// every value, so a flood of values written out (`x-values: [0,0,0,...]`, 1.1 million of them in
// 2.2 MB) costs ~15 s of CPU and 1.3 GB before toPlainData can count them and refuse the file; the
// lexer only cuts the text into tokens, about 20 times cheaper. If a document has more values than
// the limit before any alias is expanded, the expansion certainly has more: the file is refused
// then, at the same place and with the same words as toPlainData would refuse it.
//
// The count must be a lower bound of what toPlainData counts (the document's root, and every value
// of every list and mapping of `document.toJS()`, keys not included), for every file the loader
// would otherwise accept: counting one value too many could refuse such a file. So it counts
// slots, each of which certainly holds one value:
//   - the root of each document;
//   - each block list item (`-`): one item of its list;
//   - each entry of a flow list (`[a, b: 1]`): one item, a single-pair mapping for `b: 1`;
//   - each mapping value (`key: value`, block or flow) whose key is a plain name (see
//     `keepsItsValue`): toJS keeps that value. A value of a key such as `1` or `true` could be
//     replaced by a later key that toJS turns into the same property name (`"1"`, `"true"`), which
//     the duplicate-key check lets through as another type;
// and no slot inside a part of the document whose values toJS may drop, or whose shape it may
// change: the value of any other key (merge keys `<<` included), explicit keys (`? key`) and their
// values, and collections tagged with anything but a plain-data tag (`!!set` and `!!omap` become
// a JS Set or Map, whose contents Object.values does not see). Where such a part ends in block
// context is decided by indentation, computed as yaml's parser computes it; flow collections end at
// their bracket. A malformed text may be counted wrongly, which does not matter: the parser refuses
// it anyway (only the message differs, as it does when a file is both too large and malformed).

export interface ValuesWrittenOut {
  /** Values that toPlainData certainly counts in this document, whatever its aliases expand to. */
  readonly atLeast: number;
  /** Offset of the document's first alias (where toPlainData reports too many values), if any. */
  readonly firstAliasOffset: number | undefined;
}

/**
 * Tags under which a collection stays a plain list or mapping (a scalar's tag on a collection, or
 * !!map on a list, is a warning yaml keeps it plain for, or an error the loader refuses it for).
 */
const PLAIN_DATA_TAGS = new Set(['!', '!!map', '!!seq', '!!str', '!!int', '!!float', '!!bool', '!!null']);
/** Tags that leave a scalar key a string. */
const STRING_TAGS = new Set(['!', '!!str']);
/**
 * Property names that another type of key turns into: true, false (booleans), NaN, Infinity
 * (.nan, .inf); and plain scalars that are not strings in YAML 1.2 or 1.1 (null, yes, on, y...).
 * Numbers, null (""), timestamps and binary keys turn into names that do not start with a letter.
 */
const NOT_A_PLAIN_NAME = new Set(['true', 'false', 'nan', 'infinity', 'null', 'yes', 'no', 'on', 'off', 'y', 'n']);

interface Edge {
  /** yaml's parser indent of the key, list item or explicit key. */
  readonly indent: number;
  readonly kind: 'root' | 'key' | 'item' | 'explicit-key';
  /** Whether slots under this edge count: the whole path from the root keeps its values. */
  counted: boolean;
}

interface FlowCollection {
  readonly isList: boolean;
  counted: boolean;
  /** The current entry has started (a list counts each entry once). */
  entryStarted: boolean;
  /** After the `:` of the current entry: whether its value counts. */
  valueCounted: boolean | undefined;
}

interface PendingTag {
  readonly tag: string;
  /** A newline came between the tag and the node now read: it may belong to the enclosing collection. */
  beforeNewline: boolean;
}

interface KeyCandidate {
  /** Source of a plain scalar, or of a quoted one without its quotes; undefined for an alias. */
  readonly text: string | undefined;
  readonly indent: number;
  readonly tags: readonly PendingTag[];
}

/**
 * A key whose value toJS certainly keeps, as a property no other key of its mapping can overwrite:
 * a string (plain or quoted, no escapes) that starts with a letter and is none of NOT_A_PLAIN_NAME.
 * Its tags must keep it a string; in block context, tags on a line before the key belong to its
 * mapping (yaml's parser, getFirstKeyStartProps), in flow context they may belong to the key.
 */
function keepsItsValue(key: KeyCandidate, options: { inFlow: boolean; tagsArePlain: boolean }): boolean {
  if (key.text === undefined || !/^[A-Za-z][\w ./-]*$/.test(key.text) || NOT_A_PLAIN_NAME.has(key.text.toLowerCase())) return false;
  return key.tags.every((pending) => (pending.beforeNewline && !options.inFlow) || (options.tagsArePlain && STRING_TAGS.has(pending.tag)));
}

/**
 * Counts the values each document of a YAML text certainly has once composed (see above), one
 * entry per document with any content: a linear pass over yaml's lexer tokens that keeps only a
 * stack of indents and one of brackets.
 */
export function countValuesWrittenOut(text: string): ValuesWrittenOut[] {
  const documents: ValuesWrittenOut[] = [];
  // A %TAG directive can make `!!map` mean something else: then no tag is taken as plain.
  let tagsArePlain = true;
  let values = 0;
  let firstAliasOffset: number | undefined;
  let documentHasContent = false;
  let edges: Edge[] = [];
  let flows: FlowCollection[] = [];
  let pending: PendingTag[] = [];
  let keyCandidate: KeyCandidate | undefined;
  const startDocument = () => {
    if (documentHasContent) documents.push({ atLeast: values, firstAliasOffset });
    values = 1;
    firstAliasOffset = undefined;
    documentHasContent = false;
    edges = [{ indent: -1, kind: 'root', counted: true }];
    flows = [];
    pending = [];
    keyCandidate = undefined;
  };
  startDocument();

  // yaml's parser state (Parser.next): the indent of the line so far, and whether only spaces and
  // indicators came since the newline. Its block structure is decided by these, so the same.
  let atNewLine = true;
  let indent = 0;
  let offset = 0;
  let nextIsScalar = false;
  let blockScalarComing = false;

  const topEdge = () => edges[edges.length - 1]!;
  const topFlow = () => flows[flows.length - 1];
  const currentlyCounted = () => {
    const flow = topFlow();
    if (!flow) return topEdge().counted;
    return flow.valueCounted ?? flow.counted;
  };
  const pendingChangesShape = () => pending.some((tag) => !tagsArePlain || !PLAIN_DATA_TAGS.has(tag.tag));
  /** A tag before a block collection belongs to the value of the edge on top: nothing under it counts. */
  const uncountTopIfTagged = () => {
    if (pendingChangesShape()) topEdge().counted = false;
    pending = [];
  };
  /** Closes the block collections a token at the start of a line leaves, as yaml's parser does by indent. */
  const closeBlocksBefore = (isListItem: boolean) => {
    if (!atNewLine || flows.length > 0) return;
    for (;;) {
      const top = topEdge();
      if (top.kind === 'root' || indent > top.indent) return;
      // A list at the indent of its key is the key's value (`key:\n- a`).
      if (indent === top.indent && isListItem && top.kind !== 'item') return;
      edges.pop();
    }
  };
  const startFlowEntry = () => {
    const flow = topFlow();
    if (flow?.isList && !flow.entryStarted) {
      flow.entryStarted = true;
      if (flow.counted) values++;
    }
  };
  const mappingValue = () => {
    const key = keyCandidate;
    keyCandidate = undefined;
    const keyTags = key?.tags ?? pending;
    pending = [];
    // Tags on a line before the key may belong to its mapping.
    if (keyTags.some((tag) => tag.beforeNewline && (!tagsArePlain || !PLAIN_DATA_TAGS.has(tag.tag)))) {
      const flow = topFlow();
      if (flow) flow.counted = false;
      else topEdge().counted = false;
    }
    const flow = topFlow();
    const keeps = key !== undefined && keepsItsValue(key, { inFlow: flow !== undefined, tagsArePlain });
    if (flow) {
      startFlowEntry();
      flow.valueCounted = flow.counted && keeps;
      if (flow.valueCounted) values++;
      return;
    }
    const parent = topEdge();
    if (parent.counted && keeps) values++;
    edges.push({ indent: key?.indent ?? indent, kind: 'key', counted: parent.counted && keeps });
  };

  for (const token of new Lexer().lex(text)) {
    if (nextIsScalar) {
      // The source of a plain scalar, or the content of a block scalar.
      nextIsScalar = false;
      offset += token.length;
      if (blockScalarComing) {
        // Block scalar content ends with its newline (Parser.blockScalar).
        blockScalarComing = false;
        atNewLine = true;
        indent = 0;
        continue;
      }
      closeBlocksBefore(false);
      atNewLine = false;
      startFlowEntry();
      keyCandidate = { text: token, indent, tags: pending };
      pending = [];
      continue;
    }
    const type = CST.tokenType(token);
    switch (type) {
      case 'doc-mode':
        continue;
      case 'flow-error-end':
        flows = [];
        continue;
      case 'scalar':
        // Marks the next token as a scalar's source, whatever its first character.
        nextIsScalar = true;
        if (!blockScalarComing) documentHasContent = true;
        continue;
      case 'newline':
        atNewLine = true;
        indent = 0;
        keyCandidate = undefined;
        for (const tag of pending) tag.beforeNewline = true;
        offset += token.length;
        continue;
      case 'space':
        if (atNewLine && token[0] === ' ') indent += token.length;
        offset += token.length;
        continue;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind': {
        documentHasContent = true;
        const inFlow = flows.length > 0;
        if (type === 'map-value-ind') {
          if (keyCandidate === undefined) closeBlocksBefore(false);
          mappingValue();
        } else if (type === 'explicit-key-ind' && inFlow) {
          startFlowEntry();
          keyCandidate = undefined;
        } else if (!inFlow) {
          closeBlocksBefore(type === 'seq-item-ind');
          uncountTopIfTagged();
          keyCandidate = undefined;
          const parent = topEdge();
          if (type === 'seq-item-ind') {
            if (parent.counted) values++;
            edges.push({ indent, kind: 'item', counted: parent.counted });
          } else edges.push({ indent, kind: 'explicit-key', counted: false });
        }
        if (atNewLine) indent += token.length;
        offset += token.length;
        continue;
      }
    }
    // Every other token ends the run of spaces and indicators that starts a line (Parser.next).
    if (type !== 'comment' && type !== 'directive-line' && type !== 'byte-order-mark') closeBlocksBefore(false);
    atNewLine = false;
    switch (type) {
      case 'doc-start':
        // yaml starts a new document at `---` after content (and `---` alone is an empty document).
        if (documentHasContent) startDocument();
        documentHasContent = true;
        break;
      case 'doc-end':
        startDocument();
        break;
      case 'directive-line':
        if (/^%TAG\s/.test(token)) tagsArePlain = false;
        break;
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
        documentHasContent = true;
        startFlowEntry();
        keyCandidate = { text: token.slice(1, -1), indent, tags: pending };
        pending = [];
        break;
      case 'alias':
        documentHasContent = true;
        startFlowEntry();
        firstAliasOffset ??= offset;
        keyCandidate = { text: undefined, indent, tags: pending };
        pending = [];
        break;
      case 'anchor':
      case 'tag':
        documentHasContent = true;
        startFlowEntry();
        keyCandidate = undefined;
        if (type === 'tag') pending.push({ tag: token, beforeNewline: false });
        break;
      case 'block-scalar-header':
        documentHasContent = true;
        blockScalarComing = true;
        keyCandidate = undefined;
        pending = [];
        break;
      case 'flow-seq-start':
      case 'flow-map-start': {
        documentHasContent = true;
        startFlowEntry();
        const counted = currentlyCounted() && !pendingChangesShape();
        pending = [];
        keyCandidate = undefined;
        flows.push({ isList: type === 'flow-seq-start', counted, entryStarted: false, valueCounted: undefined });
        break;
      }
      case 'flow-seq-end':
      case 'flow-map-end':
        flows.pop();
        pending = [];
        keyCandidate = undefined;
        break;
      case 'comma': {
        const flow = topFlow();
        if (flow) {
          flow.entryStarted = false;
          flow.valueCounted = undefined;
        }
        pending = [];
        keyCandidate = undefined;
        break;
      }
      default:
        keyCandidate = undefined;
    }
    offset += token.length;
  }
  startDocument();
  return documents;
}
