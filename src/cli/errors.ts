import { ProjectError } from '../project/errors.js';

// How failures reach the user: one line `corral: <where>: <what> (<how to fix>)`, and an exit code
// that says whose fault it was: 1 for input (the file, the command line), 2 for the runtime.

/** A mistake on the command line, such as an unknown container name. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
  override toString(): string {
    return `${this.message} (${this.hint})`;
  }
}

export const EXIT_INVALID_INPUT = 1;
export const EXIT_RUNTIME_FAILURE = 2;

/** The exit code for an error. */
export function exitCodeFor(error: unknown): number {
  const invalidInput = error instanceof ProjectError || error instanceof UsageError || (error as { invalidInput?: unknown } | undefined)?.invalidInput === true;
  return invalidInput ? EXIT_INVALID_INPUT : EXIT_RUNTIME_FAILURE;
}

/** The line the user sees (one per problem when a file has several); with `debug`, the stack and causes follow. */
export function describeFailure(error: unknown, debug: boolean): string {
  const text = error instanceof Error ? error.toString().replace(/^Error: /, '') : String(error);
  const line = text.split('\n').map((part) => `corral: ${part}`).join('\n');
  if (!debug || !(error instanceof Error)) return line;
  const causes: string[] = [];
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) causes.push(cause.stack ?? String(cause));
  return [line, ...causes].join('\n');
}
