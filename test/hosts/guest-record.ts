import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GuestRun } from '../helpers/guest.js';
import type { Observations } from './observations.js';

// What the suites of one guest phase share: reading the record the program in the guest wrote, and
// taking a step's value out of it with a message that says where the program stopped.

/** The record `file` of the job dir; when there is none, an error with all the run tells (exit codes, output, console). */
export async function readGuestRecord(run: GuestRun, file: string): Promise<Observations> {
  const [phase] = run.phases;
  const text = await readFile(path.join(run.job, file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    throw new Error([
      `the program in the guest recorded nothing (run.sh exit ${run.exitCode}, the command's exit ${phase?.exitCode ?? 'none'})`,
      `run.sh: ${run.stderr.trim()}`, `stdout: ${phase?.stdout.trim()}`, `stderr: ${phase?.stderr.trim()}`,
      `console:\n${run.consoleTail()}`,
    ].join('\n'), { cause: error });
  });
  return JSON.parse(text) as Observations;
}

/** The value a step in the guest recorded; fails naming the step's error when it threw. */
export function recordedStep<T>(run: GuestRun | undefined, observations: Observations | undefined, name: string): T {
  const step = observations?.[name];
  const phase = run?.phases[0];
  assert.ok(step, `the guest recorded no step ${name}: the program stopped before it (exit ${phase?.exitCode}, 124 is its time limit); its stderr: ${phase?.stderr.trim().slice(-2000)}`);
  assert.ok(step.ok, `the step ${name} failed in the guest: ${step.error}`);
  return step.value as T;
}
