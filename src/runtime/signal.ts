import { readFile } from 'node:fs/promises';
import { whenMissing } from '../state/read.js';
import { constants } from 'node:os';
import type { RuntimeContext } from './context.js';
import * as runc from './runc.js';
import { readPidFile } from './conmon.js';
import { containerCgroup } from '../state/paths.js';

// The stop signal goes to the container's first process, as `runc kill` (without --all) sends it.
// Sent from here, it costs no runc process per container: a `down` of 50 pods started 50 of them
// just for this. The pid conmon recorded is trusted only while it is still in the container's own
// cgroup (a pid reused by any other process is not), otherwise `runc kill` does it.

/** A signal as the project file or an image names it (TERM, SIGTERM, 15) as Node's number, if known. */
function signalNumber(signal: string): number | undefined {
  if (/^\d+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  return (constants.signals as Record<string, number>)[name];
}

/** Whether `pid` is a process in the cgroup `corral/<project>/<pod>/<container>` of container `id`. */
export async function belongsToContainer(context: RuntimeContext, id: string, pid: number): Promise<boolean> {
  const names = id.slice(context.project.length + 1).split('.');
  if (!id.startsWith(`${context.project}.`) || names.length !== 2) return false;
  const cgroup = `/${containerCgroup(context.project, names[0]!, names[1]!)}`;
  // Gone (ENOENT, or ESRCH while it exits): in no cgroup at all.
  const lines = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(whenMissing('', ['ESRCH']));
  return lines.split('\n').some((line) => line.endsWith(cgroup));
}

/** Sends `signal` to the container's first process; a container whose process is gone is left as it is. */
export async function signalContainer(context: RuntimeContext, id: string, signal: string): Promise<void> {
  const pid = await readPidFile(context.paths.container(id).pidFile);
  const number = signalNumber(signal);
  if (pid > 0 && number !== undefined && (await belongsToContainer(context, id, pid))) {
    try {
      process.kill(pid, number);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    }
  }
  await runc.killContainer(context.runc, id, signal);
}
