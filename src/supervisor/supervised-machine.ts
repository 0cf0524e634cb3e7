import { stat } from 'node:fs/promises';
import { fromPromise } from 'xstate';
import { type ActorInput, type BackoffSettings, containerMachine, type ContainerMachineInput, KUBELET_BACKOFF } from '../../machines/container.js';
import type { HealthStatus } from '../../machines/health.js';
import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import { observeContainer, type ObservedContainer } from '../runtime/observe.js';
import { probingHealthMachine } from '../runtime/probe.js';
import { readAppliedProject } from '../project/applied-project.js';
import type { ContainerSnapshot } from '../state/snapshots.js';
import { readStoppedSet } from '../state/snapshots.js';
import type { UnderLock } from './locked-steps.js';

// The container machine (machines/container.ts) as the supervisor runs it: the steps behind it, and
// what it is told of the runtime and of the previous supervisor.

/** The error of the steps that are not the supervisor's to take; a machine that meets it says nothing. */
export const LEFT_TO_UP = 'left to `corral up`';

/** CORRAL_RESTART_BACKOFF=base,max[,reset] in ms tunes the delays (tests use short ones). */
export function backoffFromEnvironment(env: NodeJS.ProcessEnv = process.env): BackoffSettings {
  const [base, max, reset] = (env.CORRAL_RESTART_BACKOFF ?? '').split(',').map(Number);
  if (!base || !max) return KUBELET_BACKOFF;
  return { baseMs: base, maxMs: max, resetAfterMs: reset || KUBELET_BACKOFF.resetAfterMs };
}

/** How long the process that runs has: from the runtime's create time (each restart in place creates anew). */
export function runningForMs(observed: ObservedContainer, now = Date.now()): number | undefined {
  if (observed.status !== 'running' || !observed.created) return undefined;
  return Math.max(0, now - Date.parse(observed.created));
}

/** How long the run that ended lasted: from the runtime's create time to conmon's exit file. */
export async function ranForMs(context: RuntimeContext, observed: ObservedContainer): Promise<number | undefined> {
  if (observed.status !== 'exited' || !observed.created) return undefined;
  const exitFile = context.paths.exitFile(observed.id);
  try {
    return (await stat(exitFile)).mtimeMs - Date.parse(observed.created);
  } catch (error) {
    // Exited without an exit file: conmon died with it (runtime/lost-monitor.ts ended it); how long it ran is unknown.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const HEALTH_STATUSES: readonly string[] = ['starting', 'healthy', 'unhealthy'] satisfies HealthStatus[];

/**
 * What the previous supervisor knew of a container's health, for its successor (the previous one
 * died, or a foreground `up` took over): the status of the process it judged, which the machine keeps
 * only if that process still runs. A healthy container stays healthy across the takeover; docker's
 * live restore shows `starting` until the next probe, though nothing about the process changed.
 * Snapshots that name no process (older supervisors) are not carried over.
 */
export function healthBefore(snapshot: ContainerSnapshot | undefined): ContainerMachineInput['health'] {
  if (snapshot?.health === undefined || snapshot.healthPid === undefined || !HEALTH_STATUSES.includes(snapshot.health)) return undefined;
  return { status: snapshot.health as HealthStatus, output: snapshot.healthOutput, pid: snapshot.healthPid };
}

/** `pod/container` of a runc id `project.pod.container`. */
const resourceOf = (id: string) => id.split('.').slice(1).join('/');

/**
 * The machine with the supervisor's steps behind it. The supervisor only restarts and stops; creating,
 * changing and removing containers is `up`'s and `down`'s work. Each step runs under the project lock
 * and first checks, against the files and the runtime as they are now, that it is still wanted: a
 * step decided before a concurrent `up`, `stop` or `start` changed things does nothing.
 */
export function supervisedMachine(context: RuntimeContext, underLock: UnderLock) {
  const leftToUp = <T>() => fromPromise<T, ActorInput>(async () => {
    throw new Error(LEFT_TO_UP);
  });
  const wanted = async (id: string) => {
    const [project, stopped, now] = await Promise.all([readAppliedProject(context.paths.applied), readStoppedSet(context.paths.stopped), observeContainer(context, id)]);
    const resource = resourceOf(id);
    const inProject = project?.pods.some((pod) => pod.containers.some((container) => `${pod.name}/${container.name}` === resource)) ?? false;
    return { inProject, stopped: stopped.has(resource), now };
  };
  return containerMachine.provide({
    actors: {
      createContainer: leftToUp<{ pid: number }>(),
      startContainer: leftToUp<void>(),
      removeContainer: leftToUp<void>(),
      stopContainer: fromPromise(({ input }) => underLock(async () => {
        const { stopped, now } = await wanted(input.id);
        if (!stopped || now.status === 'exited') return { exitCode: now.exitCode };
        return runtime.stopContainer(context, input.id);
      })),
      restartContainer: fromPromise(({ input }) => underLock(async () => {
        const { inProject, stopped, now } = await wanted(input.id);
        if (!inProject || stopped) throw new Error(`${resourceOf(input.id)} is ${stopped ? 'stopped by the user' : 'no longer in the project'}; not restarted`);
        // Someone else (`corral restart`, `start`) gave it a new process since the restart was
        // decided (for a process that turned unhealthy while being stopped, say): that one stays.
        if (now.status === 'running' && now.pid !== undefined && now.pid !== input.pid) return { pid: now.pid };
        return runtime.restartContainer(context, input.id, resourceOf(input.id));
      })),
      health: probingHealthMachine(context),
    },
  });
}
