import { spawn } from 'node:child_process';

// Runs a program to its end and collects what it printed, with Node's own child_process: for the
// runtime's short calls (`runc start`, `delete`, `kill`, `state`...) that need nothing else. Loading
// execa (~120 files) took ~20 ms of a command's start on this 2-core machine, which was a tenth of a
// 1-pod `down` (README, Benchmarks); the calls that stream or interleave output keep execa.

export interface RunResult {
  /** Undefined when the program could not be started or was ended by a signal. */
  readonly exitCode: number | undefined;
  /** What it printed, without the final newline (as execa gives it). */
  readonly stdout: string;
  /** What it printed on stderr without the final newline; the reason when it could not be started. */
  readonly stderr: string;
  /** Whether it was ended for taking longer than `timeoutMs`. */
  readonly timedOut: boolean;
}

/** After the timeout's SIGTERM, how long a program gets before SIGKILL (execa's default). */
const KILL_AFTER_MS = 5000;

const withoutFinalNewline = (text: string) => text.replace(/\r?\n$/, '');

/** Runs `file` with `args`, stdin closed, and resolves when it has ended (never rejects). */
export function runToEnd(file: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    let forceKill: NodeJS.Timeout | undefined;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      forceKill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    }, options.timeoutMs);
    let startError: Error | undefined;
    child.on('error', (error) => (startError = error));
    // 'close', not 'exit': the output is all read by then. After a failed start it comes with -errno.
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(forceKill);
      const printed = withoutFinalNewline(Buffer.concat(stderr).toString());
      resolve({
        exitCode: startError ? undefined : code ?? undefined,
        stdout: withoutFinalNewline(Buffer.concat(stdout).toString()),
        stderr: printed || startError?.message || '',
        timedOut,
      });
    });
  });
}
