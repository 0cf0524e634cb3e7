import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { jsonErrorPosition, StateReadError } from './errors.js';

// Reading Corral's own records. Only "no such file" means "nothing recorded"; a file that cannot be
// read, is not JSON or is not the shape Corral writes is a StateReadError that names the file and
// says what repairs it. Taking it for absent once meant recreating running containers, or forgetting
// an attachment that then leaked.

export interface StateFileReading<T> {
  /** What repairs this file, in the user's terms: what to remove, what to run, what that costs. */
  readonly fix: string;
  /** Whether the parsed value has the shape Corral writes. */
  readonly isValid?: (value: unknown) => boolean;
  /** That shape in words, for the error: "a JSON list of pod/container names". */
  readonly shape?: string;
}

/** The text of `file`, or undefined when there is none (ENOENT); any other failure names the file. */
export async function readStateText(file: string, fix: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateReadError({ file, fix, cause: error });
  }
}

/** The synchronous twin of readStateText, for callers that read many small tmpfs files in a row. */
export function readStateTextSync(file: string, fix: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateReadError({ file, fix, cause: error });
  }
}

/** `text` (read from `file`) parsed and checked; a StateReadError when it is not what Corral writes. */
export function parseStateJson<T>(file: string, text: string, reading: StateFileReading<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StateReadError({ file, fix: reading.fix, cause: error, problem: `not valid JSON at ${jsonErrorPosition(text, error as Error)}` });
  }
  if (reading.isValid && !reading.isValid(value)) {
    throw new StateReadError({ file, fix: reading.fix, cause: new Error('unexpected shape'), problem: `it does not hold ${reading.shape ?? 'what Corral writes there'}` });
  }
  return value as T;
}

/** The JSON record in `file`, or undefined when there is none; unreadable or corrupt, a StateReadError. */
export async function readStateJson<T>(file: string, reading: StateFileReading<T>): Promise<T | undefined> {
  const text = await readStateText(file, reading.fix);
  return text === undefined ? undefined : parseStateJson(file, text, reading);
}

/** A check that `value` is a JSON object (not null, not a list): the least every record is. */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * For `.catch()`: `value` when the file is not there (ENOENT, and the codes given, each of which
 * the caller's comment justifies); any other failure is rethrown as it came (Node's message names
 * the path for readdir, stat, open and the like).
 */
export function whenMissing<T>(value: T, codes: readonly string[] = []): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT' || codes.includes(error.code ?? '')) return value;
    throw error;
  };
}

/** The names in `dir`, none when it does not exist; unreadable, it throws. */
export function namesInDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(whenMissing([] as string[]));
}

/** Whether `file` exists; a path through a non-directory (ENOTDIR) does not. Any other failure throws. */
export function pathExists(file: string): Promise<boolean> {
  return stat(file).then(() => true, whenMissing(false, ['ENOTDIR']));
}
