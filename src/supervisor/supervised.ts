import { type Actor, createActor } from 'xstate';
import { topState } from '../../machines/container.js';
import { configHash } from '../plan/hash.js';
import type { RuntimeContext } from '../runtime/context.js';
import { oomRecorded } from '../runtime/conmon.js';
import { endContainersWithoutMonitor, KILLED_EXIT_CODE } from '../runtime/lost-monitor.js';
import { observeProject, type ObservedContainer } from '../runtime/observe.js';
import { readAppliedProject } from '../project/applied-project.js';
import { containerId } from '../state/paths.js';
import { type ContainerSnapshot, type MachineSnapshots, readStoppedSet } from '../state/snapshots.js';
import { SupervisorError } from './errors.js';
import type { UnderLock } from './locked-steps.js';
import { readCheckpointRecord } from '../runtime/checkpoint.js';
import { type ContainerEvent, type ContainerFacts, eventsOnMachine, eventsOnObservation, factAfter } from './container-events.js';
import { backoffFromEnvironment, healthBefore, LEFT_TO_UP, ranForMs, runningForMs, supervisedMachine } from './supervised-machine.js';

// The supervised containers: one machine per container of the applied project, matched to the
// project and fed with what the runtime shows on every pass.

export interface SupervisedContainers {
  /**
   * One pass: reads the applied project, the stopped set and the runtime under the project lock;
   * adds, updates and drops machines to match.
   */
  pass(): Promise<void>;
  /** Each machine's state as `machines.json` keeps it, by `pod/container`. */
  snapshots(): Record<string, ContainerSnapshot>;
  /** Whether the container will come back by itself (waiting out a backoff, or restarting). */
  willRestart(resource: string): boolean;
  /** Restarts these containers (`pod/container`) now; unknown ones are passed over. */
  restart(resources: readonly string[]): void;
  /** Stops every machine (the containers stay as they are). */
  stopAll(): void;
}

export interface SupervisedOptions {
  readonly context: RuntimeContext;
  readonly underLock: UnderLock;
  /** What the previous supervisor wrote: restart counts, backoff and health carry over. */
  readonly previous: MachineSnapshots | undefined;
  readonly onLine: (line: string) => void;
  /** A machine changed state or context (to persist it). */
  readonly onChange: () => void;
  /** A machine's step found the project taken down: the supervisor has nothing left to do. */
  readonly onProjectGone: () => void;
  /** What the events told so far about each container (`pod/container`), from the kept events. */
  readonly told: Map<string, ContainerFacts>;
  /** Something happened to containers (`corral events`). */
  readonly onEvents: (events: readonly ContainerEvent[]) => void;
}

type Entry = Actor<ReturnType<typeof supervisedMachine>>;

function snapshotOf(actor: Entry): ContainerSnapshot {
  const snapshot = actor.getSnapshot();
  const { restartCount, backoffMs, health, healthOutput, healthPid, error } = snapshot.context;
  return { state: topState(snapshot), restartCount, backoffMs, health, healthOutput, healthPid, error };
}

export function supervisedContainers(options: SupervisedOptions): SupervisedContainers {
  const { context, underLock, previous, onLine: say } = options;
  const backoff = backoffFromEnvironment();
  const machine = supervisedMachine(context, underLock);
  // A machine keeps only the message of a failed step: this one says the project is gone.
  const projectGone = SupervisorError.projectGone(context.project, context.paths).message;
  const actors = new Map<string, Entry>();

  /** The wishes and what the runtime shows, read together under the project lock: never a half-done `up`. */
  const observation = () => underLock(async () => {
    const [project, stopped, observed] = await Promise.all([readAppliedProject(context.paths.applied), readStoppedSet(context.paths.stopped), observeProject(context)]);
    const { containers, ended } = await endContainersWithoutMonitor(context, observed.containers);
    for (const container of ended) say(`${container.pod}/${container.name}: its conmon is gone; killed it (exit code ${KILLED_EXIT_CODE}), its restart policy decides`);
    return { project, stopped, observed: new Map(containers.map((container) => [`${container.pod}/${container.name}`, container])) };
  });

  /** Tells what changed for `resource` since the last events, and remembers it as told. */
  const record = (resource: string, events: ReturnType<typeof eventsOnObservation>) => {
    if (events.length === 0) return;
    const time = new Date().toISOString();
    let facts = options.told.get(resource);
    for (const event of events) facts = factAfter(facts, event);
    if (facts) options.told.set(resource, facts);
    else options.told.delete(resource);
    options.onEvents(events.map((event) => ({ time, resource, ...event })));
  };

  const tell = async (actor: Entry, seen: ObservedContainer | undefined) => {
    const { resource } = actor.getSnapshot().context;
    const [oomKilled, checkpoint] = seen ? await Promise.all([oomRecorded(context.paths.container(seen.id).bundle), readCheckpointRecord(context, seen.id)]) : [false, undefined];
    const oom = oomKilled ? { oom: true as const } : {};
    record(resource, eventsOnObservation(options.told.get(resource), seen && { status: seen.status, pid: seen.pid, exitCode: seen.exitCode, ...oom, ...(checkpoint ? { checkpoint: { checkpointedAt: checkpoint.checkpointedAt, leftRunning: checkpoint.leftRunning, restoredAt: checkpoint.restoredAt, restoredPid: checkpoint.restoredPid } } : {}) }));
    if (!seen) actor.send({ type: 'OBSERVED', status: 'absent' });
    else actor.send({ type: 'OBSERVED', status: seen.status, hash: seen.hash, pid: seen.pid, exitCode: seen.exitCode, ranForMs: await ranForMs(context, seen), runningForMs: runningForMs(seen) });
  };

  /** Says what a machine's new state means to the user: a restart ahead, or a failure. */
  const report = (resource: string, actor: Entry) => {
    let last = '';
    actor.subscribe((snapshot) => {
      const state = topState(snapshot);
      if (state !== last) {
        const { error, exitCode, backoffMs, restartCount } = snapshot.context;
        if (error === projectGone) options.onProjectGone();
        if (state === 'backoff') say(`${resource} exited with code ${exitCode ?? '?'}; restarting in ${Math.round(backoffMs / 100) / 10}s (restart ${restartCount + 1})`);
        if (state === 'failed' && error !== projectGone && error !== LEFT_TO_UP) say(`${resource} failed: ${error ?? 'unknown error'}`);
        last = state;
      }
      const { health, restartCount, backoffMs } = snapshot.context;
      record(resource, eventsOnMachine(options.told.get(resource), { health, inBackoff: state === 'backoff', restartCount, backoffMs }));
      options.onChange();
    });
  };

  /**
   * A machine hears what exists before it hears the new wish, so a container that `up` just
   * recreated is taken as it is, not recreated once more.
   */
  const pass = async () => {
    const { project, stopped, observed } = await observation();
    const wanted = new Set<string>();
    for (const pod of project?.pods ?? []) {
      for (const container of pod.containers) {
        const resource = `${pod.name}/${container.name}`;
        // The hash that runs is the one to keep: changing containers is up's work, not the supervisor's.
        const desired = { type: 'DESIRED', state: stopped.has(resource) ? 'stopped' : 'running', hash: observed.get(resource)?.hash ?? configHash(container, pod) } as const;
        wanted.add(resource);
        const existing = actors.get(resource);
        if (existing) {
          // The user's wish (`stop`, `start`) comes first: what is observed is its outcome. Heard the
          // other way round, a container just started would meet the old wish to keep it stopped.
          existing.send({ type: 'DESIRED', state: desired.state });
          await tell(existing, observed.get(resource));
          existing.send(desired);
          continue;
        }
        const before = previous?.containers[resource];
        const actor = createActor(machine, {
          input: {
            id: containerId(context.project, pod.name, container.name), resource, restart: container.lifecycle.restart,
            healthcheck: container.lifecycle.healthcheck, backoff, restartCount: before?.restartCount, backoffMs: before?.backoffMs,
            health: healthBefore(before),
          },
        });
        actors.set(resource, actor);
        report(resource, actor);
        actor.start();
        actor.send(desired);
        await tell(actor, observed.get(resource));
      }
    }
    for (const [resource, actor] of actors) {
      if (wanted.has(resource)) continue;
      actor.stop();
      actors.delete(resource);
    }
    // Containers no longer in the project: told once they are gone (or what they did meanwhile).
    for (const resource of [...options.told.keys()]) {
      if (!wanted.has(resource)) record(resource, eventsOnObservation(options.told.get(resource), observed.get(resource)));
    }
    options.onChange();
  };

  return {
    pass,
    snapshots: () => Object.fromEntries([...actors].map(([resource, actor]) => [resource, snapshotOf(actor)])),
    willRestart: (resource) => ['backoff', 'restarting'].includes(topState(actors.get(resource)?.getSnapshot() ?? { value: '' })),
    restart(resources) {
      for (const resource of resources) actors.get(resource)?.send({ type: 'RESTART' });
    },
    stopAll() {
      for (const actor of actors.values()) actor.stop();
    },
  };
}
