import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeContext } from './context.js';
import type { ObservedContainer } from './observe.js';
import * as runc from './runc.js';
import { readPidFile } from './conmon.js';
import { readProcStat } from './proc-stat.js';
import { pathExists } from '../state/read.js';

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

/**
 * A running container whose recorded conmon is gone; one without a conmon pid file is given the
 * benefit of the doubt. conmon writes the exit file before it exits, so with that file there the
 * container ended by itself after it was observed running, and conmon recorded it: nothing is lost
 * (killing it then would record 137 over its real exit code).
 */
async function monitorIsLost(context: RuntimeContext, container: ObservedContainer): Promise<boolean> {
  if (container.status !== 'running') return false;
  const pid = await readPidFile(context.paths.container(container.id).conmonPidFile);
  if (!(pid > 0) || isLiveConmon(pid)) return false;
  return !(await pathExists(context.paths.exitFile(container.id)));
}

/** The observation with `monitorLost` set on each running container whose conmon died. Changes nothing. */
export async function markContainersWithoutMonitor(context: RuntimeContext, observed: readonly ObservedContainer[]): Promise<ObservedContainer[]> {
  const lost = await Promise.all(observed.map((container) => monitorIsLost(context, container)));
  return observed.map((container, index) => (lost[index] ? { ...container, monitorLost: true as const } : container));
}

/** What the container is once killed: exited as conmon would have recorded a SIGKILL. */
export function afterKill(container: ObservedContainer): ObservedContainer {
  const { pid: _pid, monitorLost: _lost, ...rest } = container;
  return { ...rest, status: 'exited', exitCode: KILLED_EXIT_CODE };
}

/** How long the runtime may take to see a SIGKILLed container stopped, and how often it is asked. */
const KILL_SETTLE_TIMEOUT_MS = 2000;
const KILL_SETTLE_POLL_MS = 20;

/**
 * Kills every process of a container whose conmon is gone, waits (bounded) until the runtime sees it
 * stopped, and records its exit (137) where conmon would have. Call it under the project lock.
 */
export async function endContainerWithoutMonitor(context: RuntimeContext, id: string): Promise<void> {
  await runc.killContainer(context.runc, id, 'KILL', true);
  for (const deadline = Date.now() + KILL_SETTLE_TIMEOUT_MS; ;) {
    const state = await runc.containerState(context.runc, id);
    if (!state || state.status === 'stopped') break;
    if (Date.now() >= deadline) {
      throw new Error(`${id}: still running ${KILL_SETTLE_TIMEOUT_MS / 1000} s after SIGKILL, with its conmon gone; see \`runc --root ${context.runc.root} state ${id}\` and kill its processes by hand`);
    }
    await sleep(KILL_SETTLE_POLL_MS);
  }
  // Never over what conmon recorded, should it have seen the exit after all ('wx': only a new file).
  await writeFile(context.paths.exitFile(id), `${KILLED_EXIT_CODE}`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/**
 * Ends the running containers of `observed` whose conmon died and records their exit (137); returns
 * the observation as it is afterwards, and the containers it ended. The supervisor's repair between
 * two polls; `up` plans the same as `kill` operations. Call it under the project lock.
 */
export async function endContainersWithoutMonitor(context: RuntimeContext, observed: readonly ObservedContainer[]): Promise<{ containers: ObservedContainer[]; ended: ObservedContainer[] }> {
  const marked = await markContainersWithoutMonitor(context, observed);
  const ended = observed.filter((_, index) => marked[index]!.monitorLost);
  for (const container of ended) await endContainerWithoutMonitor(context, container.id);
  return { containers: marked.map((container) => (container.monitorLost ? afterKill(container) : container)), ended };
}

/** How long an orphaned conmon's `runc create` may take to end once conmon is killed. */
const ORPHAN_CREATE_TIMEOUT_MS = 10_000;

/**
 * Ends the conmon of a container whose launching command died before conmon reported the pid (it
 * would die of SIGPIPE when it reports, leaving the container unwatched, possibly after it was
 * started), and waits (bounded) until the `runc create` it ran has ended, so that the container can
 * be deleted and launched anew. Call it under the project lock.
 */
export async function endOrphanedConmon(context: RuntimeContext, id: string, conmonPid: number): Promise<void> {
  if (isLiveConmon(conmonPid)) {
    try {
      process.kill(conmonPid, 'SIGKILL');
    } catch (error) {
      // Exited meanwhile: nothing to end.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  for (const deadline = Date.now() + ORPHAN_CREATE_TIMEOUT_MS; (await runc.containerState(context.runc, id))?.status === 'creating';) {
    if (Date.now() >= deadline) {
      throw new Error(`${id}: still being created ${ORPHAN_CREATE_TIMEOUT_MS / 1000} s after the command that launched it died; see \`runc --root ${context.runc.root} state ${id}\`, then \`corral down\``);
    }
    await sleep(KILL_SETTLE_POLL_MS);
  }
}
