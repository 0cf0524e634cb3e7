type Raw = Record<string, unknown>;

/** A mapping, or a list of NAME=value; a bare NAME in a list takes `missing(NAME)` (left out when undefined). */
export function keyValuesOf(value: unknown, missing: (key: string) => string | undefined): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((entry: string) => {
      const equals = entry.indexOf('=');
      return equals < 0 ? [entry, missing(entry)] : [entry.slice(0, equals), entry.slice(equals + 1)];
    }).filter(([, entryValue]) => entryValue !== undefined));
  }
  return Object.fromEntries(Object.entries((value ?? {}) as Raw).map(([key, inner]) => [key, inner === null ? '' : String(inner)]));
}

