import { existsSync, watch, type FSWatcher } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { type Actor, createActor, fromPromise } from 'xstate';
import { type ActorInput, type BackoffSettings, containerMachine, type ContainerMachineInput, KUBELET_BACKOFF, topState } from '../../machines/container.js';
import type { HealthStatus } from '../../machines/health.js';
import { configHash } from '../plan/hash.js';
import type { Container, Pod, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import { probingHealthMachine } from '../runtime/probe.js';
import { observeContainer, observeProject, type ObservedContainer } from '../runtime/observe.js';
import { endContainersWithoutMonitor, KILLED_EXIT_CODE } from '../runtime/lost-monitor.js';
import * as native from '../native.js';
import { withProjectLock } from '../state/lock.js';
import { containerId } from '../state/paths.js';
import { type ContainerSnapshot, readMachineSnapshots, readStoppedSet, writeMachineSnapshots } from '../state/snapshots.js';
import { readAppliedProject } from '../project/applied-project.js';
import { serveSocket, type SupervisorAnswer, type SupervisorRequest } from './socket.js';

// The per-project supervisor: one long-lived container machine per container of the applied project,
// fed with what the runtime shows (conmon's exit files wake it at once, a slow poll catches the rest).
// The machines decide restarts and run health checks; every runtime step they take holds the project
// lock, so a supervisor and a `corral up` never act on one project at the same time. Its knowledge
// (restarts, backoff, health) is written to machines.json, which `ps` reads and a successor picks up.

export interface Supervisor {
  /** Whether the container will come back by itself (waiting out a backoff, or restarting). */
  willRestart(resource: string): boolean;
  /** Stops supervising (the containers stay as they are) and releases the socket and lock. */
  stop(): Promise<void>;
  /** Settles when the supervisor stopped, by stop() or a `shutdown` request. */
  readonly stopped: Promise<void>;
}

export class SupervisorBusyError extends Error {}

const PROJECT_GONE = 'the project is no longer applied';

/** The project was taken down under the supervisor's feet (or before it started); it stops. */
export class ProjectGoneError extends Error {
  constructor() {
    super(PROJECT_GONE);
  }
}

const POLL_MS = 2000;

/** CORRAL_RESTART_BACKOFF=base,max[,reset] in ms tunes the delays (tests use short ones). */
function backoffFromEnvironment(): BackoffSettings {
  const [base, max, reset] = (process.env.CORRAL_RESTART_BACKOFF ?? '').split(',').map(Number);
  if (!base || !max) return KUBELET_BACKOFF;
  return { baseMs: base, maxMs: max, resetAfterMs: reset || KUBELET_BACKOFF.resetAfterMs };
}

/** How long the process that runs has: from the runtime's create time (each restart in place creates anew). */
function runningForMs(observed: ObservedContainer): number | undefined {
  if (observed.status !== 'running' || !observed.created) return undefined;
  return Math.max(0, Date.now() - Date.parse(observed.created));
}

const HEALTH_STATUSES: readonly string[] = ['starting', 'healthy', 'unhealthy'] satisfies HealthStatus[];

/**
 * What the previous supervisor knew of a container's health, for its successor (the previous one
 * died, or a foreground `up` took over): the status of the process it judged, which the machine keeps
 * only if that process still runs. A healthy container stays healthy across the takeover; docker's
 * live restore shows `starting` until the next probe, though nothing about the process changed.
 * Snapshots that name no process (older supervisors) are not carried over.
 */
function healthBefore(snapshot: ContainerSnapshot | undefined): ContainerMachineInput['health'] {
  if (snapshot?.health === undefined || snapshot.healthPid === undefined || !HEALTH_STATUSES.includes(snapshot.health)) return undefined;
  return { status: snapshot.health as HealthStatus, output: snapshot.healthOutput, pid: snapshot.healthPid };
}

/** How long the run that ended lasted: from the runtime's create time to conmon's exit file. */
async function ranForMs(context: RuntimeContext, observed: ObservedContainer): Promise<number | undefined> {
  if (observed.status !== 'exited' || !observed.created) return undefined;
  const exited = await stat(`${context.paths.exits}/${observed.id}`).catch(() => undefined);
  return exited ? exited.mtimeMs - Date.parse(observed.created) : undefined;
}

interface Supervised {
  readonly actor: Actor<ReturnType<typeof supervisedMachine>>;
  project: Project;
  pod: Pod;
  container: Container;
}

const LEFT_TO_UP = 'left to `corral up`';

/**
 * The machine with the supervisor's steps behind it. The supervisor only restarts and stops; creating,
 * changing and removing containers is `up`'s and `down`'s work. Each step runs under the project lock
 * and first checks, against the files and the runtime as they are now, that it is still wanted: a
 * step decided before a concurrent `up`, `stop` or `start` changed things does nothing.
 */
function supervisedMachine(context: RuntimeContext, underLock: <T>(work: () => Promise<T>) => Promise<T>) {
  const resourceOf = (id: string) => id.split('.').slice(1).join('/');
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

/**
 * Starts supervising the project in this process: takes the supervisor lock (SupervisorBusyError
 * when another supervisor holds it), serves the socket, and runs until stop() or `shutdown`.
 */
export async function startSupervisor(context: RuntimeContext, options: { onLine?: (line: string) => void } = {}): Promise<Supervisor> {
  const say = options.onLine ?? (() => {});
  const paths = context.paths;
  if (!existsSync(paths.run) || !existsSync(paths.applied)) throw new ProjectGoneError();
  const lockFd = await Promise.race([native.lockFile(paths.supervisorLock), sleep(1000).then(() => undefined)]);
  if (lockFd === undefined) throw new SupervisorBusyError(`another supervisor runs for project ${context.project}`);

  const backoff = backoffFromEnvironment();
  // One runtime step at a time, each under the project lock: at most one pool thread ever waits on it.
  const serial = pLimit(1);
  // `down` may have run meanwhile (it removes the run dir and the applied project): then there is
  // nothing left to supervise, and acting would bring back what down removed.
  const projectGone = async () => !existsSync(paths.run) || !existsSync(paths.applied);
  const underLock = <T>(work: () => Promise<T>) => serial(async () => {
    if (await projectGone()) throw new ProjectGoneError();
    // Never recreate the run dir that a `down` removed: a missing lock dir means the project is gone.
    const locked = withProjectLock(paths.lock, async () => {
      if (await projectGone()) throw new ProjectGoneError();
      return work();
    }, undefined, { createDir: false });
    return locked.catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' && error.path === paths.lock ? new ProjectGoneError() : error;
    });
  });
  const supervised = new Map<string, Supervised>();
  const machine = supervisedMachine(context, underLock);
  const previous = await readMachineSnapshots(paths.machines);

  let persistTimer: NodeJS.Timeout | undefined;
  const snapshotOf = (entry: Supervised): ContainerSnapshot => {
    const snapshot = entry.actor.getSnapshot();
    const state = topState(snapshot);
    const { restartCount, backoffMs, health, healthOutput, healthPid, error } = snapshot.context;
    return { state, restartCount, backoffMs, health, healthOutput, healthPid, error };
  };
  const allSnapshots = () => Object.fromEntries([...supervised].map(([resource, entry]) => [resource, snapshotOf(entry)]));
  const writeSnapshots = async () => {
    if (!existsSync(paths.applied)) return;
    const containers = allSnapshots();
    await writeMachineSnapshots(paths.machines, { pid: process.pid, writtenAt: new Date().toISOString(), containers }).catch((error) => say(`cannot write ${paths.machines}: ${(error as Error).message}`));
  };
  let persistPending = false;
  const persist = () => {
    clearTimeout(persistTimer);
    persistPending = true;
    persistTimer = setTimeout(() => {
      persistPending = false;
      void writeSnapshots();
    }, 100);
  };

  /** The wishes and what the runtime shows, read together under the project lock: never a half-done `up`. */
  const observation = () => underLock(async () => {
    const [project, stopped, observed] = await Promise.all([readAppliedProject(paths.applied), readStoppedSet(paths.stopped), observeProject(context)]);
    const { containers, ended } = await endContainersWithoutMonitor(context, observed.containers);
    for (const container of ended) say(`${container.pod}/${container.name}: its conmon is gone; killed it (exit code ${KILLED_EXIT_CODE}), its restart policy decides`);
    return { project, stopped, observed: new Map(containers.map((container) => [`${container.pod}/${container.name}`, container])) };
  });
  const tell = async (entry: Supervised, seen: ObservedContainer | undefined) => {
    if (!seen) entry.actor.send({ type: 'OBSERVED', status: 'absent' });
    else entry.actor.send({ type: 'OBSERVED', status: seen.status, hash: seen.hash, pid: seen.pid, exitCode: seen.exitCode, ranForMs: await ranForMs(context, seen), runningForMs: runningForMs(seen) });
  };

  /**
   * Reads the applied project and the stopped set; adds, updates and drops machines to match. A
   * machine hears what exists before it hears the new wish, so a container that `up` just
   * recreated is taken as it is, not recreated once more.
   */
  const reload = async () => {
    const { project, stopped, observed } = await observation();
    const wanted = new Set<string>();
    for (const pod of project?.pods ?? []) {
      for (const container of pod.containers) {
        const resource = `${pod.name}/${container.name}`;
        // The hash that runs is the one to keep: changing containers is up's work, not the supervisor's.
        const desired = { type: 'DESIRED', state: stopped.has(resource) ? 'stopped' : 'running', hash: observed.get(resource)?.hash ?? configHash(container, pod) } as const;
        wanted.add(resource);
        const existing = supervised.get(resource);
        if (existing) {
          Object.assign(existing, { project: project!, pod, container });
          // The user's wish (`stop`, `start`) comes first: what is observed is its outcome. Heard the
          // other way round, a container just started would meet the old wish to keep it stopped.
          existing.actor.send({ type: 'DESIRED', state: desired.state });
          await tell(existing, observed.get(resource));
          existing.actor.send(desired);
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
        const entry: Supervised = { actor, project: project!, pod, container };
        supervised.set(resource, entry);
        let last = '';
        actor.subscribe((snapshot) => {
          const state = topState(snapshot);
          if (state !== last) {
            if (snapshot.context.error === PROJECT_GONE) void stop();
            if (state === 'backoff') say(`${resource} exited with code ${snapshot.context.exitCode ?? '?'}; restarting in ${Math.round(snapshot.context.backoffMs / 100) / 10}s (restart ${snapshot.context.restartCount + 1})`);
            if (state === 'failed' && snapshot.context.error !== PROJECT_GONE && snapshot.context.error !== LEFT_TO_UP) say(`${resource} failed: ${snapshot.context.error ?? 'unknown error'}`);
            last = state;
          }
          persist();
        });
        actor.start();
        actor.send(desired);
        await tell(entry, observed.get(resource));
      }
    }
    for (const [resource, entry] of supervised) {
      if (wanted.has(resource)) continue;
      entry.actor.stop();
      supervised.delete(resource);
    }
    persist();
  };

  let syncing: Promise<void> | undefined;
  let syncAgain = false;
  /**
   * Every pass reads the wishes (applied project, stopped set) with what the runtime shows, so a
   * machine never acts on a wish that a `stop` or `up` has just changed. Calls during a pass
   * coalesce into one more.
   */
  const sync = async (): Promise<void> => {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        await reload();
      } while (syncAgain);
    })().catch((error) => {
      if (error instanceof ProjectGoneError) void stop();
      else say(`observing failed: ${(error as Error).message}`);
    }).finally(() => {
      syncing = undefined;
    });
    return syncing;
  };

  let resolveStopped!: () => void;
  const stoppedPromise = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let server: Server | undefined;
  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(poller);
      watcher?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await unlink(paths.supervisorSocket).catch(() => {});
      for (const entry of supervised.values()) entry.actor.stop();
      clearTimeout(persistTimer);
      // What changed in the last 100 ms is the successor's to know (a health it would otherwise judge again).
      if (persistPending) await writeSnapshots();
      native.unlockFile(lockFd);
      resolveStopped();
    })();
    return stopping;
  };

  const handle = async (request: SupervisorRequest): Promise<SupervisorAnswer> => {
    if (request.op === 'reload') {
      // Answered at once: the pass reads everything under the project lock anyway, and the CLI
      // need not wait for it.
      void sync();
    } else if (request.op === 'restart') {
      for (const resource of request.resources) supervised.get(resource)?.actor.send({ type: 'RESTART' });
    } else if (request.op === 'shutdown') {
      setImmediate(() => void stop());
    } else if (request.op === 'status') {
      return { ok: true, pid: process.pid, containers: allSnapshots() };
    }
    return { ok: true, pid: process.pid };
  };

  try {
    await reload();
    server = await serveSocket(paths.supervisorSocket, handle);
  } catch (error) {
    await stop();
    throw error;
  }
  let exitsChanged: NodeJS.Timeout | undefined;
  try {
    watcher = watch(paths.exits, () => {
      clearTimeout(exitsChanged);
      exitsChanged = setTimeout(() => void sync(), 20);
    });
  } catch {
    // Without inotify the poll below still sees every exit, only later.
  }
  poller = setInterval(() => void sync(), POLL_MS);

  return {
    willRestart: (resource) => ['backoff', 'restarting'].includes(topState(supervised.get(resource)?.actor.getSnapshot() ?? { value: '' })),
    stop,
    stopped: stoppedPromise,
  };
}
