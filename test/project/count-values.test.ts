import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { isAlias, isMap, isPair, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { countValuesWrittenOut } from '../../src/project/count-values.js';
import { checkDocument, checkValuesWrittenOut, LOADER_LIMITS } from '../../src/project/limits.js';
import { parseSourceText } from '../../src/import/documents.js';
import { ProjectError } from '../../src/project/errors.js';

// The count of values before composing (src/project/count-values.ts) must never exceed what
// toPlainData counts once the document is composed, or a file the loader accepts would be refused;
// and the refusal it allows must be the one toPlainData gives, at the same place.

const FILE = '/projects/demo/corral.yaml';
// logLevel: made-up binary keys would each print yaml's warning about keys it stringifies.
const OPTIONS = { merge: true, uniqueKeys: false, prettyErrors: true, logLevel: 'error' } as const;

/**
 * Values of a composed document as toPlainData counts them: its root, and every value of every list
 * and mapping; like toPlainData, it stops past the limit (an alias inside its own anchor loops).
 */
function valuesOnceComposed(document: Document): number {
  let values = 0;
  const stack: unknown[] = [document.toJS({ maxAliasCount: LOADER_LIMITS.maxAliasCount })];
  while (stack.length > 0 && values <= LOADER_LIMITS.maxValues) {
    const value = stack.pop();
    values++;
    if (value !== null && typeof value === 'object') stack.push(...Object.values(value));
  }
  return values;
}

/** Offset of the first alias of a document in the text, pairs of !!omap and !!pairs included. */
function firstAliasOffsetOf(document: Document): number | undefined {
  let first: number | undefined;
  const stack: unknown[] = [document.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node) && (first === undefined || node.range![0] < first)) first = node.range![0];
    if (isMap(node)) for (const pair of node.items) stack.push(pair.key, pair.value);
    else if (isSeq(node)) stack.push(...node.items);
    else if (isPair(node)) stack.push(node.key, node.value);
  }
  return first;
}

/** Per document, the values and first alias after composing; undefined for a text the loader refuses before counting. */
function composedCounts(text: string): { values: number; firstAliasOffset: number | undefined }[] | undefined {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, ...OPTIONS });
  if (!Array.isArray(documents)) return undefined;
  try {
    return documents.map((document) => {
      if (document.errors.length > 0) throw new Error('syntax');
      checkDocument(document, lineCounter, FILE);
      return { values: valuesOnceComposed(document), firstAliasOffset: firstAliasOffsetOf(document) };
    });
  } catch {
    return undefined;
  }
}

const LIST = '[0, 0, 0]';

const counts = suite('values written out: a lower bound of the values once composed');

const countCases: { name: string; yaml: string; atLeast: number[] }[] = [
  { name: 'block mappings and lists, exactly', yaml: `a: 1\nb:\n  c: [x, y]\n  d:\n  - 1\n  -\n  - - 2\n`, atLeast: [11] },
  { name: 'a list at the indent of its key', yaml: `a:\n- 1\n- 2\nb: 3\n`, atLeast: [5] },
  { name: 'flow mappings and lists, pairs in a list as single-pair mappings', yaml: `[a: ${LIST}, {b: 1, c: {}}, []]\n`, atLeast: [10] },
  { name: 'keys without value in a flow mapping (nulls) are not counted', yaml: `{a, b, c: 1}\n`, atLeast: [2] },
  { name: 'quoted keys, comments, block and multi-line scalars', yaml: `"a": |\n  text\n# c\n'b': "x\n  y"\nc: x\n  y # c\n`, atLeast: [4] },
  { name: 'an alias counts once, whatever it expands to', yaml: `a: &a ${LIST}\nb: *a\n`, atLeast: [6] },
  { name: 'each document on its own', yaml: `a: ${LIST}\n---\n- 1\n...\n--- x\n`, atLeast: [5, 2, 1] },
  { name: 'a number key: a later "1" would replace its value', yaml: `1: ${LIST}\n"1": x\n`, atLeast: [1] },
  { name: 'keys that other types turn into (true, NaN, Infinity, "") and non-strings', yaml: `"true": ${LIST}\nNaN: ${LIST}\nInfinity: ${LIST}\n~: ${LIST}\nyes: ${LIST}\n`, atLeast: [1] },
  { name: 'a key with escapes or a tag other than !!str', yaml: `"N\\x61N": ${LIST}\n!!int 1: ${LIST}\n!!str a: ${LIST}\n`, atLeast: [5] },
  { name: 'a merge key, and the keys it merges', yaml: `b: &b {x: ${LIST}}\nm:\n  <<: *b\n  z: 1\n`, atLeast: [8] },
  { name: 'an explicit key and its value', yaml: `? a\n: ${LIST}\nb: 1\n`, atLeast: [2] },
  { name: 'sets and ordered maps (a JS Set or Map: Object.values sees nothing in them)', yaml: `s: !!set {a, b}\no: !!omap\n- a: ${LIST}\n- b: 1\np:\n  !!omap\n  - a: ${LIST}\nq: !!omap [a: ${LIST}]\n`, atLeast: [5] },
  { name: 'a tagged document root', yaml: `--- !!omap\n- a: ${LIST}\n`, atLeast: [1] },
  { name: 'a tagged list item, then the next item counts', yaml: `- !!omap\n  - a: ${LIST}\n- ${LIST}\n`, atLeast: [6] },
  { name: 'plain-data tags', yaml: `a: !!seq ${LIST}\nb: !!map {c: 1}\nc: ! ${LIST}\n`, atLeast: [11] },
  { name: 'no tag is plain once %TAG can redefine !!', yaml: `%TAG !! tag:yaml.org,2002:o\n---\nk: !!map [a: ${LIST}]\n`, atLeast: [2] },
];

for (const example of countCases) {
  counts(example.name, () => {
    const found = countValuesWrittenOut(example.yaml).map((document) => document.atLeast);
    assert.equal(found, example.atLeast, `${example.name}: counted ${JSON.stringify(found)}`);
    const composed = composedCounts(example.yaml);
    assert.ok(composed, `${example.name}: the loader accepts this YAML`);
    composed.forEach((document, index) => assert.ok(found[index]! <= document.values, `${example.name}, document ${index + 1}: ${found[index]} counted, ${document.values} once composed`));
  });
}

counts('the first alias of each document, where toPlainData reports', () => {
  const text = `a: 1\nb: [x, *y]\n---\nc: &z 1\nd: *z\n`;
  assert.equal(countValuesWrittenOut(text).map((document) => document.firstAliasOffset), [text.indexOf('*y'), text.indexOf('*z')]);
});

/**
 * A made-up document from a seed, full of what could make toJS drop values: keys that collide as
 * property names, merge keys, explicit keys, tags on keys, values and lines of their own, lists at
 * their key's indent, comments at any column, several documents.
 */
function trickyText(seed: number): string {
  let state = (seed >>> 0) || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % 1000;
  };
  const pick = <T>(choices: readonly T[]) => choices[next() % choices.length]!;
  const chance = (percent: number) => next() % 100 < percent;
  const KEYS = ['a', 'b', 'x-values', '"q"', "'s'", '1', '"1"', 'true', '"true"', 'yes', '.nan', 'NaN', '.inf', 'Infinity', '~', '""', '<<', '!!str 1', '!!int "1"', '!!str a', '! b', '!!null c', '!!binary YQ==', '&k d', 'e f', '"a\\x62"', '0x1', '__proto__'];
  const SCALARS = ['0', 'x', '"s"', "'t'", '~', 'true', '*a', '!!str 1', '!!binary YQ==', ''];
  const TAGS = ['', '', '', '', '!!set ', '!!omap ', '!!pairs ', '!!map ', '!!seq ', '!!str ', '! ', '!<tag:yaml.org,2002:set> '];
  const properties = () => `${chance(15) ? '&a ' : ''}${chance(30) ? pick(TAGS) : ''}`;
  const flow = (depth: number): string => {
    if (depth > 2 || chance(40)) {
      const scalar = pick(SCALARS);
      return /^[*!]/.test(scalar) ? scalar : properties() + scalar;
    }
    const items = Array.from({ length: next() % 4 }, () => {
      if (chance(10)) return `${pick(['!!null', '!!int', '&z', '!!set'])}\n ${pick(KEYS)}: ${flow(depth + 1)}`;
      return chance(25) ? `${pick(KEYS)}: ${flow(depth + 1)}` : flow(depth + 1);
    });
    return chance(50) ? `${properties()}[${items.join(', ')}]` : `${properties()}{${items.map((item) => (item.includes(':') ? item : `${pick(KEYS)}: ${item}`)).join(', ')}}`;
  };
  const block = (indent: number, depth: number, lines: string[], prefix: string) => {
    const pad = ' '.repeat(indent);
    const tags = properties();
    if (depth > 3 || chance(35)) {
      lines.push(`${prefix} ${chance(50) ? flow(0) : pick(['|', '>-']) + `\n${pad} text`}`);
      return;
    }
    if (tags && chance(30)) lines.push(prefix, pad + tags.trim());
    else lines.push(`${prefix} ${tags}`.trimEnd());
    if (chance(10)) lines.push(`${' '.repeat(next() % 6)}# comment`);
    for (let item = 0; item < 1 + (next() % 3); item++) {
      if (chance(40)) block(indent + 2, depth + 1, lines, `${pad}-`);
      else if (chance(10)) {
        lines.push(`${pad}? ${pick(KEYS)}`);
        block(indent + 2, depth + 1, lines, `${pad}:`);
      } else if (chance(10)) lines.push(`${pad}${pick(KEYS)}:`, `${pad}- ${flow(0)}`);
      else {
        if (chance(8)) lines.push(pad + pick(['!!null', '!!int', '!!set', '!!omap', '&z', '!']));
        block(indent + 1 + (next() % 3), depth + 1, lines, `${pad}${pick(KEYS)}:`);
      }
    }
  };
  const documents = Array.from({ length: chance(20) ? 2 : 1 }, () => {
    const lines = chance(30) ? ['x-base: &a {k: 1, j: [1, 2]}'] : [];
    block(0, 0, lines, pick(['x-root:', '---', '--- !!set', '--- !!omap', 'x-root: !!omap', '%YAML 1.1\n---']));
    return lines.join('\n');
  });
  // A document starts after `---` (its own, or one put between), or after `...` for directives.
  const separatorBefore = (document: string) => (document.startsWith('%') ? '\n...\n' : document.startsWith('---') ? '\n' : '\n---\n');
  return `${documents.map((document, index) => (index === 0 ? document : separatorBefore(document) + document)).join('')}\n`;
}

counts('never more than once composed, the first alias where toPlainData finds it (made-up documents)', () => {
  let compared = 0;
  fc.assert(fc.property(fc.integer(), (seed) => {
    const text = trickyText(seed);
    const composed = composedCounts(text);
    if (!composed) return;
    compared++;
    const found = countValuesWrittenOut(text);
    assert.is(found.length, composed.length, `documents of:\n${text}`);
    composed.forEach((document, index) => {
      assert.ok(found[index]!.atLeast <= document.values, `document ${index + 1}: ${found[index]!.atLeast} counted, ${document.values} once composed:\n${text}`);
      assert.is(found[index]!.firstAliasOffset, document.firstAliasOffset, `document ${index + 1}, first alias:\n${text}`);
    });
  }), { seed: 20261129, numRuns: 4000 });
  assert.ok(compared > 400, `${compared} documents the loader accepts were compared`);
});

counts.run();

const limit = suite('values written out: the limit, before composing');

/** A root flow list: its root and its items, `values` values in all. */
const listOf = (values: number) => `[${'0,'.repeat(values - 2)}0]\n`;

/** The error a call throws, as the CLI prints it: FILE:LINE:COL: what (how to fix). */
function refusal(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    assert.instance(error, ProjectError);
    const { where, message, hint } = error as ProjectError;
    return `${where.file}:${where.line}:${where.col}: ${message} (${hint})`;
  }
  return 'accepted';
}

limit('exactly maxValues values pass, one more is refused at the start of the file', () => {
  assert.is(countValuesWrittenOut(listOf(LOADER_LIMITS.maxValues))[0]!.atLeast, LOADER_LIMITS.maxValues);
  assert.is(refusal(() => checkValuesWrittenOut(listOf(LOADER_LIMITS.maxValues), FILE)), 'accepted');
  assert.match(refusal(() => checkValuesWrittenOut(listOf(LOADER_LIMITS.maxValues + 1), FILE)), `${FILE}:1:1: the file expands to more than 1000000 values (`);
});

limit('each document has its own limit', () => {
  const half = `- ${listOf(LOADER_LIMITS.maxValues / 2 + 1)}`;
  assert.is(refusal(() => checkValuesWrittenOut(`${half}---\n${half}`, FILE)), 'accepted');
});

limit('the refusal before composing is the one after: same words, at the first alias', () => {
  // 600 aliases of a list of 2000 values: few written out, more than a million once expanded.
  const aliases = `x-a: &a ${listOf(2001).trim()}\nx-b: [${Array(600).fill('*a').join(', ')}]\n`;
  const afterComposing = refusal(() => parseSourceText(aliases, FILE));
  assert.match(afterComposing, `${FILE}:2:7: the file expands to more than 1000000 values (`);
  const written = `${aliases}x-c: ${listOf(LOADER_LIMITS.maxValues)}`;
  assert.is(refusal(() => checkValuesWrittenOut(written, FILE)), afterComposing);
  assert.is(refusal(() => parseSourceText(written, FILE)), afterComposing);
});

limit.run();
