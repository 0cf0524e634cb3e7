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

let exitExplained = false;

/** Ends the command with `code` now, once it has said why (or has nothing to say: a success). */
export function exitExplainedWith(code: number): never {
  exitExplained = true;
  process.exit(code);
}

/** The code the command ends with when it is done: that of the command `exec` ran, a failure it printed. */
export function setExplainedExitCode(code: number): void {
  exitExplained = true;
  process.exitCode = code;
}

/**
 * A command that fails must say why. One that would end with a failure code and no word (a library
 * calling process.exit, a crash whose report got lost) says at least that, and from where: a chaos
 * trial once saw `up` exit 1 with nothing on stderr, and there was nothing to go on.
 */
export function reportUnexplainedExits(): void {
  process.on('exit', (code) => {
    if (code === 0 || exitExplained) return;
    process.stderr.write(`corral: exited with code ${code} without saying why; this is a bug in Corral, please report it with this trace:\n${new Error('exit').stack}\n`);
  });
}

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
