import type { ParsedFile, PathSegment } from '../project/parse.js';
import { errorAt, formatPath } from '../project/parse.js';

// A compose file or Kubernetes manifest becomes a Corral document, which then takes the normal
// validate -> normalise path. The translation remembers where each part of the document came from,
// so that an error found later still points at the user's own file, line and column; and it reports
// every key it could not carry over as a warning with its position, never dropping one silently.

export type Raw = Record<string, unknown>;

/** A warning as the CLI prints it: `FILE:LINE:COL: what (at PATH)`. */
export type WarningSink = (warning: string) => void;

export class Translation {
  private readonly origins: { to: PathSegment[]; from: PathSegment[] }[] = [];
  /** Each warning once, even when a Deployment's template makes several pods. */
  private readonly warned = new Set<string>();

  constructor(readonly source: ParsedFile, private readonly sink: WarningSink) {}

  /** The Corral value at `to` was made from the source value at `from` (and so are its children, key for key). */
  from(to: PathSegment[], from: PathSegment[]): void {
    this.origins.push({ to, from });
  }

  /** A source key that has no place in Corral. */
  unsupported(at: PathSegment[], why = 'not supported by Corral, ignored'): void {
    const { line, col, file = this.source.file } = this.source.locate(at, { key: true });
    // Paths into a file of several manifests start with the document's index.
    const where = typeof at[0] === 'number' ? `document ${at[0] + 1}, ${formatPath(at.slice(1))}` : formatPath(at);
    const warning = `${file}:${line}:${col}: ${where}: ${why}`;
    if (this.warned.has(warning)) return;
    this.warned.add(warning);
    this.sink(warning);
  }

  /** Warns about every key of `raw` that is not in `known` (x- extensions pass). */
  unsupportedKeys(raw: Raw, known: readonly string[], at: PathSegment[]): void {
    for (const key of Object.keys(raw)) {
      if (!known.includes(key) && !key.startsWith('x-')) this.unsupported([...at, key]);
    }
  }

  /** The value at `at` as a mapping (absent: an empty one); anything else is refused at its line, before the translation relies on it. */
  mapping(value: unknown, at: PathSegment[], example: string): Raw {
    if (value === undefined || value === null) return {};
    if (typeof value === 'object' && !Array.isArray(value)) return value as Raw;
    throw errorAt(this.source, at, `${formatPath(at.filter((segment) => typeof segment === 'string').slice(-1))} must be a mapping, not ${kindOf(value)}`, `write a mapping, e.g. ${example}`);
  }

  /** The value at `at` as a list (absent: an empty one); anything else is refused at its line. */
  list(value: unknown, at: PathSegment[], example: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value;
    throw errorAt(this.source, at, `${formatPath(at.filter((segment) => typeof segment === 'string').slice(-1))} must be a list, not ${kindOf(value)}`, `write a list, e.g. ${example}`);
  }

  /** The value at `at` as a list of mappings (absent: an empty one); anything else is refused at its line. */
  mappings(value: unknown, at: PathSegment[], example: string): Raw[] {
    return this.list(value, at, `[${example}]`).map((item, index) => this.mapping(item, [...at, index], example));
  }

  /** A ParsedFile over the translated document whose positions are the source's. */
  parsed(data: unknown): ParsedFile {
    const { source, origins } = this;
    const startsWith = (path: readonly PathSegment[], prefix: readonly PathSegment[]) => prefix.length <= path.length && prefix.every((segment, index) => String(segment) === String(path[index]));
    return {
      file: source.file,
      data,
      locate(path, options) {
        const origin = origins.filter((candidate) => startsWith(path, candidate.to)).sort((a, b) => b.to.length - a.to.length)[0];
        if (!origin) return source.locate([], options);
        const written = [...origin.from, ...path.slice(origin.to.length)];
        return { ...source.locate(written, options), written };
      },
    };
  }
}

/** Names as Corral allows them: lowercase letters, digits, - and _. */
export function corralName(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return cleaned || 'unnamed';
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? 'a string' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'true or false' : 'empty';
}
