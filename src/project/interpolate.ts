import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';

// Stage 2: compose-style variables in string values, as compose-go's template package reads them
// (template/template.go, ported step by step so that the same text gives the same result or the
// same error): `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
// `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, nesting in defaults, and `$$` for a literal `$`.
// A `$` followed by neither a name nor `{` (`$(cat file)`, `^REGEX$`) stays as it is written.
// Keys are never interpolated.

export type LookupEnv = (name: string) => string | undefined;

export const processEnvironment: LookupEnv = (name) => process.env[name];

class InterpolationFailure extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/**
 * compose-go's DefaultPattern: `$$`, `$NAME`, `${NAME...}` (the operand runs to the last `}` of the
 * line, as Go's greedy `.*` does; the first balanced `}` is found afterwards), or `${` alone, which is
 * an invalid template. Go's `.` stops at a newline, hence `[^\n]`.
 */
const VARIABLE = /\$(?:(?<escaped>\$)|(?<named>[_a-z][_a-z0-9]*)|\{(?:(?<braced>[_a-z][_a-z0-9]*(?::?[-+?][^\n]*)?)\}|(?<invalid>)))/i;
const VARIABLES = new RegExp(VARIABLE.source, 'gi');

/** The operators of `${NAME<op>operand}`; the one written first in the text is the one that applies. */
const OPERATORS = [':?', '?', ':-', '-', ':+', '+'] as const;
type Operator = typeof OPERATORS[number];

function firstOperator(text: string): Operator | undefined {
  let first: { operator: Operator; index: number } | undefined;
  for (const operator of OPERATORS) {
    const index = text.indexOf(operator);
    if (index >= 0 && (first === undefined || index < first.index)) first = { operator, index };
  }
  return first?.operator;
}

/** compose-go's getFirstBraceClosingIndex: any `{` opens (and the character after it is skipped), `}` closes. */
function firstBalancedClose(text: string): number {
  let open = 0;
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '}' && --open === 0) return index;
    if (text[index] === '{') {
      open++;
      index++;
    }
  }
  return -1;
}

/** compose-go's MissingRequiredError, word for word, with how to fix it. */
function missingRequired(name: string, reason: string, value: string | undefined): InterpolationFailure {
  return new InterpolationFailure(`required variable ${name} is missing a value${reason ? `: ${reason}` : ''}`,
    `${name} is ${value === undefined ? 'not set' : 'empty'}: set ${name} in the environment or in .env`);
}

/** `${NAME<op>operand}`: the value, or undefined when the operator is not in the text (a plain `${NAME}`). */
function applyOperator(substitution: string, operator: Operator | undefined, lookup: LookupEnv): string | undefined {
  if (operator === undefined || !substitution.includes(operator)) return undefined;
  const at = substitution.indexOf(operator);
  const [name, operand] = [substitution.slice(0, at), substitution.slice(at + operator.length)];
  const value = lookup(name);
  const emptyCounts = operator.startsWith(':');
  const absent = value === undefined || (emptyCounts && value === '');
  switch (operator) {
    case ':-': case '-': return absent ? interpolateString(operand, lookup) : value!;
    case ':+': case '+': return absent ? value ?? '' : interpolateString(operand, lookup);
    case ':?': case '?':
      if (absent) throw missingRequired(name, interpolateString(operand, lookup), value);
      return value!;
  }
}

/** One match of VARIABLES in `template`, replaced as compose-go's DefaultReplacementAppliedFunc does. */
function replaceOne(matched: string, at: number, template: string, lookup: LookupEnv): string {
  const operator = firstOperator(matched);
  const close = firstBalancedClose(matched);
  const [substring, rest] = close < 0 ? [matched, ''] : [matched.slice(0, close + 1), matched.slice(close + 1)];
  const groups = VARIABLE.exec(substring)?.groups ?? {};
  if (groups.escaped) return '$';
  if (groups.named) return lookup(groups.named) ?? '';
  const braced = groups.braced;
  if (!braced) {
    const close = template.indexOf('}', at);
    if (close < 0) throw new InterpolationFailure(`invalid interpolation format: unclosed "\${" in "${template}"`, 'close it with } or write $$ for a literal $');
    throw new InterpolationFailure(`invalid interpolation format: invalid variable "${template.slice(at, close + 1)}" in "${template}"`,
      'use ${NAME}, ${NAME:-default} or $$ for a literal $; a name is letters, digits and _, not starting with a digit');
  }
  const applied = applyOperator(braced, operator, lookup);
  if (applied !== undefined) return applied + interpolateString(rest, lookup);
  return lookup(braced) ?? '';
}

/** Expands the variables of one string. Throws InterpolationFailure (the first one) on a bad or missing variable. */
export function interpolateString(text: string, lookup: LookupEnv): string {
  let failure: InterpolationFailure | undefined;
  let result = '';
  let copied = 0;
  for (const match of text.matchAll(VARIABLES)) {
    result += text.slice(copied, match.index);
    copied = match.index + match[0].length;
    try {
      result += replaceOne(match[0], match.index, text, lookup);
    } catch (error) {
      if (!(error instanceof InterpolationFailure)) throw error;
      // compose-go goes on replacing and returns the first error.
      failure ??= error;
    }
  }
  if (failure) throw failure;
  return result + text.slice(copied);
}

/** What a string value becomes after interpolation where the file's schema types it. */
export type ValueType = 'boolean' | 'integer' | 'number';

export interface InterpolateOptions {
  /** The type of the value at a path, when it has one (compose: compose-types.ts); strings there are converted. */
  readonly typeAt?: (path: readonly PathSegment[]) => ValueType | undefined;
}

/** YAML 1.1's words for booleans, as compose-go's toBoolean takes them. */
const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, y: true, yes: true, on: true, n: false, no: false, off: false };
/** Go's strconv.Atoi and ParseFloat, which compose-go converts with. */
const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const TYPE_WORDS: Readonly<Record<ValueType, { name: string; example: string }>> = {
  boolean: { name: 'a boolean', example: 'true or false' },
  integer: { name: 'an integer', example: 'a whole number such as 3' },
  number: { name: 'a number', example: 'a number such as 0.5' },
};

/** A string where a boolean or number is wanted, converted as compose-go converts it, or a failure saying what is wanted. */
function convert(text: string, type: ValueType): unknown {
  const value = type === 'boolean' ? BOOLEANS[text.toLowerCase()]
    : type === 'integer' ? (INTEGER.test(text) ? Number(text) : undefined)
      : (NUMBER.test(text) ? Number(text) : undefined);
  if (value === undefined) throw new InterpolationFailure(`"${text}" is not ${TYPE_WORDS[type].name}`, `write ${TYPE_WORDS[type].example} here (after interpolation)`);
  return value;
}

/** Returns a copy of the parsed data with every string value interpolated, and converted where a type is wanted. */
export function interpolateProject(parsed: ParsedFile, lookup: LookupEnv = processEnvironment, options: InterpolateOptions = {}): unknown {
  const visit = (value: unknown, path: PathSegment[]): unknown => {
    if (typeof value === 'string') {
      try {
        const text = interpolateString(value, lookup);
        const type = options.typeAt?.(path);
        return type === undefined ? text : convert(text, type);
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
