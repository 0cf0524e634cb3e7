import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, type Sandbox } from '../helpers/sandbox.js';
import type { CliRecord, Observations, PsRow } from './observations.js';

// What every program inside the test guest does: records each step's value or error into a JSON file
// of the job dir, for the suite on the host to assert on, and runs the CLI as a user does.

/** Under emulation (and a busy host) a command takes many times as long as here. */
const CLI_TIMEOUT_MS = 300_000;

export interface Recorder {
  readonly observations: Observations;
  /** Runs one step and records its value, or its error. */
  step<T>(name: string, run: () => Promise<T>): Promise<T | undefined>;
}

/**
 * Records into `file` of the job dir. Any error of a step is recorded, since reporting it to the host
 * is the point, and the next steps still run, so one boot of the guest tells about every check. The
 * record is rewritten after every step, so a run cut short by its time limit still tells how far it
 * came; a line per step on stdout shows the progress live (stdout-N in the job dir).
 */
export function recorder(job: string, file: string): Recorder {
  const observations: Observations = {};
  return {
    observations,
    async step<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
      const started = Date.now();
      let value: T | undefined;
      try {
        value = await run();
        observations[name] = { ok: true, ms: Date.now() - started, value };
      } catch (error) {
        observations[name] = { ok: false, ms: Date.now() - started, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      process.stdout.write(`${name}: ${observations[name]!.ok ? 'ok' : 'failed'} in ${observations[name]!.ms} ms\n`);
      await writeFile(path.join(job, file), `${JSON.stringify(observations, null, 2)}\n`);
      return value;
    },
  };
}

export async function cli(sandbox: Sandbox, args: readonly string[]): Promise<CliRecord> {
  const result = await corral(sandbox, args, { timeoutMs: CLI_TIMEOUT_MS });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

export async function ps(sandbox: Sandbox, project: string): Promise<PsRow[]> {
  const result = await cli(sandbox, ['-p', project, 'ps', '--format', 'json']);
  if (result.exitCode !== 0) throw new Error(`corral ps exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as PsRow[];
}
