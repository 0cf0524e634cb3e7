import { execa } from 'execa';
import { cliEntry, type Sandbox } from './sandbox.js';

// The CLI run in a real terminal, as a user at a keyboard runs it: util-linux's `script` gives it a
// pseudo-terminal of the size asked for, the test types into it and reads what the terminal shows.

export interface TerminalSession {
  /** Everything the terminal has shown so far (script's output: echo and program output). */
  shown(): string;
  /** Types bytes at the keyboard. */
  type(text: string): void;
  /** Resolves once the screen shows `pattern` (after `since` characters of it), or fails naming what was awaited. */
  waitFor(pattern: RegExp, what: string, options?: { since?: number; timeoutMs?: number }): Promise<void>;
  /** The program's exit code (script -e passes it on). */
  readonly exited: Promise<number>;
}

const quoted = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** `corral ARGS` in a terminal of `rows` x `columns`, with the sandbox's dirs. */
export function corralInTerminal(sandbox: Sandbox, args: readonly string[], size = { rows: 33, columns: 91 }): TerminalSession {
  const command = `stty rows ${size.rows} cols ${size.columns}; exec ${[process.execPath, cliEntry, ...args].map(quoted).join(' ')}`;
  const child = execa('script', ['-qefc', command, '/dev/null'], { cwd: sandbox.work, env: sandbox.env, reject: false, stdin: 'pipe', timeout: 120_000 });
  let screen = '';
  child.stdout!.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const exited = child.then((result) => result.exitCode ?? -1);
  return {
    shown: () => screen,
    type: (text) => void child.stdin!.write(text),
    async waitFor(pattern, what, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 20_000);
      while (!pattern.test(screen.slice(options.since ?? 0))) {
        if (Date.now() > deadline) throw new Error(`the terminal did not show ${what} (${pattern}) within ${options.timeoutMs ?? 20_000} ms; it shows:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    exited: exited.finally(() => child.stdin!.destroy()),
  };
}
