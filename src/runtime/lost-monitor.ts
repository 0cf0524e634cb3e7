import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeContext } from './context.js';
import type { ObservedContainer } from './observe.js';
import * as runc from './runc.js';
import { readPidFile } from './conmon.js';
import { readProcStat } from './proc-stat.js';

// conmon is what sees a container exit: it records the exit code, keeps the log and holds the stdio.
// When something kills conmon (kill -9, the OOM killer), the container runs on unwatched: no exit file
// will ever appear, so no restart policy could apply and `ps` would say "running" forever. Such a
// container is ended here, as if it had been killed, and recorded as conmon would have recorded it,
// so that every other part of Corral sees an ordinary exited container.

/** The exit code conmon records for a container ended by SIGKILL (128 + 9). */
export const KILLED_EXIT_CODE = 137;

/** Whether the process is a live (not zombie) conmon; pids are reused, so the name is checked too. */
export function isLiveConmon(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat?.name === 'conmon' && stat.state !== 'Z';
}

/** A running container whose recorded conmon is gone; one without a conmon pid file is given the benefit of the doubt. */
async function monitorIsLost(context: RuntimeContext, container: ObservedContainer): Promise<boolean> {
  if (container.status !== 'running') return false;
  const pid = await readPidFile(context.paths.container(container.id).conmonPidFile);
  return pid > 0 && !isLiveConmon(pid);
}

/** Kills every process of the container and waits (bounded) until the runtime sees it stopped. */
async function endUnwatched(context: RuntimeContext, id: string): Promise<void> {
  await runc.killContainer(context.runc, id, 'KILL', true);
  for (let attempt = 0; attempt < 100; attempt++) {
    const state = await runc.containerState(context.runc, id);
    if (!state || state.status === 'stopped') return;
    await sleep(20);
  }
  throw new Error(`${id}: still running 2 s after SIGKILL, with its conmon gone`);
}

/**
 * Ends the running containers of `observed` whose conmon died and records their exit (137); returns
 * the observation as it is afterwards, and the containers it ended. Call it under the project lock.
 */
export async function endContainersWithoutMonitor(context: RuntimeContext, observed: readonly ObservedContainer[]): Promise<{ containers: ObservedContainer[]; ended: ObservedContainer[] }> {
  const lost = await Promise.all(observed.map((container) => monitorIsLost(context, container)));
  const ended = observed.filter((_, index) => lost[index]);
  for (const container of ended) {
    await endUnwatched(context, container.id);
    await writeFile(`${context.paths.exits}/${container.id}`, `${KILLED_EXIT_CODE}`, { mode: 0o600 });
  }
  const afterwards = (container: ObservedContainer): ObservedContainer => {
    if (!ended.includes(container)) return container;
    const { pid: _pid, ...rest } = container;
    return { ...rest, status: 'exited', exitCode: KILLED_EXIT_CODE };
  };
  return { containers: observed.map(afterwards), ended };
}
