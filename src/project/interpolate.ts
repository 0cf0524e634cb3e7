import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';

// Stage 2: compose-style variables in string values: `${VAR}`, `$VAR`, `${VAR:-default}`,
// `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, nesting in
// defaults, and `$$` for a literal `$`. Keys are never interpolated.

export type LookupEnv = (name: string) => string | undefined;

export const processEnvironment: LookupEnv = (name) => process.env[name];

class InterpolationFailure extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** Finds the `}` that closes the `${` at `start`, honouring nested `${...}`. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let index = start; index < text.length; index++) {
    if (text.startsWith('${', index)) {
      depth++;
      index++;
    } else if (text[index] === '}' && --depth === 0) return index;
  }
  return -1;
}

function expandBraced(body: string, lookup: LookupEnv): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!match) throw new InterpolationFailure(`invalid variable "\${${body}}"`, 'use ${NAME}, ${NAME:-default} or $$ for a literal $');
  const [, name, operator, argument = ''] = match as unknown as [string, string, string | undefined, string | undefined];
  const value = lookup(name);
  const unsetOrEmpty = value === undefined || value === '';
  switch (operator) {
    case undefined: return value ?? '';
    case ':-': return unsetOrEmpty ? interpolateString(argument, lookup) : value!;
    case '-': return value === undefined ? interpolateString(argument, lookup) : value;
    case ':+': return unsetOrEmpty ? '' : interpolateString(argument, lookup);
    case '+': return value === undefined ? '' : interpolateString(argument, lookup);
    case ':?':
    case '?':
      if (operator === ':?' ? unsetOrEmpty : value === undefined) {
        throw new InterpolationFailure(`required variable ${name} is ${value === undefined ? 'not set' : 'empty'}${argument ? `: ${interpolateString(argument, lookup)}` : ''}`, `set ${name} in the environment or in .env`);
      }
      return value!;
    default: return value ?? '';
  }
}

/** Expands the variables of one string. Throws InterpolationFailure on a bad or missing variable. */
export function interpolateString(text: string, lookup: LookupEnv): string {
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char !== '$') {
      result += char;
      continue;
    }
    const next = text[index + 1];
    if (next === '$') {
      result += '$';
      index++;
    } else if (next === '{') {
      const end = closingBrace(text, index);
      if (end < 0) throw new InterpolationFailure(`unclosed "\${" in "${text}"`, 'close it with } or write $$ for a literal $');
      result += expandBraced(text.slice(index + 2, end), lookup);
      index = end;
    } else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(index + 1))?.[0];
      if (!name) throw new InterpolationFailure(`a lone "$" in "${text}"`, 'write $$ for a literal $, or ${NAME} for a variable');
      result += lookup(name) ?? '';
      index += name.length;
    }
  }
  return result;
}

/** Returns a copy of the parsed data with every string value interpolated. */
export function interpolateProject(parsed: ParsedFile, lookup: LookupEnv = processEnvironment): unknown {
  const visit = (value: unknown, path: PathSegment[]): unknown => {
    if (typeof value === 'string') {
      try {
        return interpolateString(value, lookup);
      } catch (error) {
        if (error instanceof InterpolationFailure) throw errorAt(parsed, path, error.message, error.hint);
        throw error;
      }
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, visit(inner, [...path, key])]));
    }
    return value;
  };
  return visit(parsed.data, []);
}
