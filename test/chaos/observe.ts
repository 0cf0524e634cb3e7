import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readPidFile } from '../../src/runtime/conmon.js';
import { readProcStat } from '../../src/runtime/proc-stat.js';
import type { PsRow } from '../../src/cli/ps.js';
import { corral, eventually, type Sandbox } from '../helpers/sandbox.js';

// What the fault tests look at, as a user would: `corral ps`, and the pid files Corral keeps.

/** `corral ps --format json` by `pod/container`; empty when ps fails. */
export async function psRows(sandbox: Sandbox, project: string): Promise<Map<string, PsRow>> {
  const result = await corral(sandbox, ['-p', project, 'ps', '--format', 'json']);
  if (result.exitCode !== 0) return new Map();
  return new Map((JSON.parse(result.stdout) as PsRow[]).map((row) => [`${row.pod}/${row.container}`, row]));
}

/** The pid of the conmon that watches `pod.container`, from its pid file in the run dir. */
export async function conmonPidOf(sandbox: Sandbox, project: string, podAndContainer: string): Promise<number> {
  const file = path.join(sandbox.run, project, 'containers', `${project}.${podAndContainer}`, 'conmon.pid');
  const pid = await readPidFile(file);
  if (pid <= 0) throw new Error(`${file}: no conmon pid recorded`);
  return pid;
}

/** Whether a process with this pid runs (a zombie does not). */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The pid of the project's live supervisor, from the machines.json it writes; waits (bounded) for one. */
export async function supervisorPid(context: { sandbox: Sandbox; project: string }): Promise<number> {
  const file = path.join(context.sandbox.state, 'projects', context.project, 'machines.json');
  return eventually(async () => {
    const pid = (JSON.parse(await readFile(file, 'utf8')) as { pid: number }).pid;
    return existsSync(`/proc/${pid}`) ? pid : undefined;
  }, 'a live supervisor');
}
