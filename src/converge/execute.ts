import { createActor, fromPromise, waitFor, type SnapshotFrom } from 'xstate';
import { containerMachine, topState, type ContainerEvent } from '../../machines/container.js';
import type { Project } from '../project/model.js';
import { NEW_PROCESS, type Operation, type Plan } from '../plan/plan.js';
import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import type { ObservedContainer, ObservedProject } from '../runtime/observe.js';
import { existingPodSandboxes } from '../runtime/pod.js';
import { ensurePodSandbox, removePodSandbox } from '../network/pod-sandbox.js';
import { refreshHostsFiles } from '../network/names.js';
import { syncResolver } from '../network/resolver.js';
import { RuntimeError } from '../runtime/errors.js';
import pLimit from 'p-limit';
import { CONTAINER_CONCURRENCY, runWithConcurrency } from './concurrency.js';
import { probingHealthMachine } from '../runtime/probe.js';
import { NotReadyError, trackReadiness } from './readiness.js';
import { containerId } from '../state/paths.js';
import { afterKill, endContainerWithoutMonitor } from '../runtime/lost-monitor.js';
import { readStoppedSet, writeStoppedSet } from '../state/snapshots.js';

// Executes a plan, the one place where `up` and `down` change the host: the bookkeeping and repairs
// first, then pod sandboxes, then one container machine per container, in parallel with a bound,
// each driven by OBSERVED (what exists) and DESIRED (what the plan wants). Stops at nothing: every
// container gets its chance, and the failures are reported together at the end.

export interface ExecutionReport {
  /** One line per finished step, for progress output. */
  readonly onProgress?: (line: string) => void;
}

export interface ExecutePlanOptions extends ExecutionReport {
  readonly context: RuntimeContext;
  /** The desired project; undefined for a teardown, which removes only. */
  readonly project: Project | undefined;
  readonly plan: Plan;
  /** What the plan was computed from. */
  readonly observed: ObservedProject;
  /** How long a container stopped by the plan gets after its stop signal (`-t`); default: its stop_grace_period. */
  readonly stopGraceMs?: number;
  /** `corral create`: containers are made and left created, not started (the plan has no start then). */
  readonly createOnly?: boolean;
}

export interface ContainerOutcome {
  readonly resource: string;
  readonly state: string;
  readonly error?: string;
  readonly exitCode?: number;
  readonly pid?: number;
}

type ContainerSnapshot = SnapshotFrom<typeof containerMachine>;

/** What the runtime needs to create each container of the project, by runc id (the hash comes with each operation). */
function containerTargets(project: Project | undefined): Map<string, runtime.ContainerTarget> {
  const targets = new Map<string, runtime.ContainerTarget>();
  for (const pod of project?.pods ?? []) {
    for (const container of pod.containers) {
      const id = containerId(project!.name, pod.name, container.name);
      targets.set(id, { project: project!, pod, container, id, hash: '' });
    }
  }
  return targets;
}

/** The machine with the real runtime behind its actors. */
function runtimeBackedMachine(context: RuntimeContext, project: Project | undefined, stop: { graceMs?: number }) {
  const targets = containerTargets(project);
  const resourceOf = (id: string) => id.split('.').slice(1).join('/');
  return containerMachine.provide({
    actors: {
      createContainer: fromPromise(async ({ input }) => {
        const target = targets.get(input.id);
        if (!target) throw new Error(`${resourceOf(input.id)} is not in the project file`);
        return runtime.createContainer(context, { ...target, hash: input.hash ?? '' });
      }),
      startContainer: fromPromise(({ input }) => runtime.startContainer(context, input.id, resourceOf(input.id))),
      stopContainer: fromPromise(({ input }) => runtime.stopContainer(context, input.id, stop)),
      removeContainer: fromPromise(({ input }) => runtime.removeContainer(context, input.id, resourceOf(input.id))),
      restartContainer: fromPromise(({ input }) => runtime.restartContainer(context, input.id, resourceOf(input.id), stop)),
      health: probingHealthMachine(context),
    },
  });
}

function observedEvent(observed: ObservedContainer | undefined): ContainerEvent {
  if (!observed) return { type: 'OBSERVED', status: 'absent' };
  return { type: 'OBSERVED', status: observed.status, hash: observed.hash, pid: observed.pid, exitCode: observed.exitCode };
}

/**
 * Drives one container machine from what exists to what the operation wants; resolves when it settles.
 * The machine recreates a container whose hash is outdated by itself; one recreated for another
 * reason (its root gone, the namespace it joins renewed, a watch rule) is removed first.
 */
async function driveContainer(machine: ReturnType<typeof runtimeBackedMachine>, operation: Operation, observed: ObservedContainer | undefined): Promise<ContainerSnapshot> {
  if (operation.kind === 'recreate' && observed && observed.hash === operation.hash) {
    const removed = await settle(machine, { ...operation, kind: 'remove' }, observed);
    if (topState(removed) !== 'removed') return removed;
    return settle(machine, operation, undefined);
  }
  return settle(machine, operation, observed);
}

async function settle(machine: ReturnType<typeof runtimeBackedMachine>, operation: Operation, observed: ObservedContainer | undefined): Promise<ContainerSnapshot> {
  const actor = createActor(machine, { input: { id: operation.id!, resource: operation.resource } });
  actor.start();
  // The wish first: the first observation already moves the machine, and it must know where to.
  if (operation.kind === 'remove') actor.send({ type: 'DESIRED', state: 'removed' });
  else actor.send({ type: 'DESIRED', state: 'running', hash: operation.hash });
  actor.send(observedEvent(observed));
  if (operation.kind === 'start') actor.send({ type: 'START' });
  const settled = await waitFor(actor, (snapshot) => snapshot.hasTag('settled') && !snapshot.matches('absent'), { timeout: Infinity });
  actor.stop();
  return settled;
}

function describeOutcome(operation: Operation, snapshot: ContainerSnapshot): ContainerOutcome {
  const { context } = snapshot;
  const state = topState(snapshot);
  return { resource: operation.resource, state, error: context.error, exitCode: context.exitCode, pid: context.pid };
}

const DONE_WORDS: Record<string, string> = { create: 'started', recreate: 'recreated', start: 'started', remove: 'removed', kill: 'killed' };

/**
 * Creates and starts containers as soon as what they depend on is ready (started, healthy or
 * completed), independent ones in parallel under the concurrency bound. A container whose dependency
 * never becomes ready is not started, and fails naming the dependency and why.
 */
async function startInDependencyOrder(options: {
  context: RuntimeContext; project: Project; operations: readonly Operation[]; observed: ObservedProject;
  run: (operation: Operation) => Promise<ContainerOutcome>; say: (line: string) => void;
}): Promise<ContainerOutcome[]> {
  const { context, project, operations, observed, run, say } = options;
  const limit = pLimit(CONTAINER_CONCURRENCY);
  const readiness = trackReadiness(context, project, new Set(operations.map((operation) => operation.resource)), observed);
  const containers = new Map(project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container] as const)));
  return Promise.all(operations.map(async (operation) => {
    const dependencies = containers.get(operation.resource as `${string}/${string}`)?.lifecycle.dependsOn ?? [];
    try {
      await Promise.all(dependencies.map(async (dependency) => {
        try {
          await readiness.reached(dependency);
        } catch (error) {
          const hint = error instanceof NotReadyError ? ` (${error.hint})` : '';
          throw new Error(`not started: ${dependency.resource} never became ${DEPENDENCY_WORDS[dependency.condition]}: ${(error as Error).message}${hint}`, { cause: error });
        }
      }));
    } catch (error) {
      const message = (error as Error).message;
      readiness.started(operation.resource, { error: message });
      say(`✘ ${operation.resource}  ${message}`);
      return { resource: operation.resource, state: 'failed', error: message };
    }
    const outcome = await limit(() => run(operation));
    readiness.started(operation.resource, outcome.error || outcome.pid === undefined ? { error: outcome.error ?? `is ${outcome.state}` } : { pid: outcome.pid });
    return outcome;
  }));
}

/**
 * `corral create`: each container of a create or recreate operation is made (an outdated one removed
 * first) and left created, as docker compose's `create` leaves it; `start` or `up` starts it. No
 * machine: its wish is a running container, and nothing here waits for a dependency to be ready.
 */
async function createWithoutStarting(context: RuntimeContext, project: Project, operations: readonly Operation[], observed: ObservedProject, say: (line: string) => void): Promise<ContainerOutcome[]> {
  const targets = containerTargets(project);
  const exists = new Set(observed.containers.map((container) => container.id));
  return runWithConcurrency(operations, CONTAINER_CONCURRENCY, async (operation) => {
    try {
      if (exists.has(operation.id!)) await runtime.removeContainer(context, operation.id!, operation.resource);
      const { pid } = await runtime.createContainer(context, { ...targets.get(operation.id!)!, hash: operation.hash ?? '' });
      say(`✔ ${operation.resource}  created`);
      return { resource: operation.resource, state: 'created', pid };
    } catch (error) {
      say(`✘ ${operation.resource}  ${(error as Error).message}`);
      return { resource: operation.resource, state: 'failed', error: (error as Error).message };
    }
  });
}

const DEPENDENCY_WORDS = { started: 'started', healthy: 'healthy', completed: 'completed successfully' } as const;

/** `up` brings back what `stop` stopped: the stopped set forgets the containers of the plan's forget-stopped operations. */
async function forgetStopped(context: RuntimeContext, operations: readonly Operation[]): Promise<void> {
  if (operations.length === 0) return;
  const stopped = await readStoppedSet(context.paths.stopped);
  for (const operation of operations) stopped.delete(operation.resource);
  await writeStoppedSet(context.paths.stopped, stopped);
}

/** Ends the containers of the plan's kill operations; returns the observation as it is afterwards. */
async function killContainers(context: RuntimeContext, operations: readonly Operation[], observed: ObservedProject, say: (line: string) => void): Promise<ObservedProject> {
  const killed = new Set<string>();
  for (const operation of operations) {
    await endContainerWithoutMonitor(context, operation.id!);
    killed.add(operation.id!);
    say(`✔ ${operation.resource}  ${DONE_WORDS.kill}: ${operation.cause}`);
  }
  return { ...observed, containers: observed.containers.map((container) => (killed.has(container.id) ? afterKill(container) : container)) };
}

/**
 * Applies the plan to the host, in the order of its operations: (1) the stopped set forgets what
 * `up` brings back, (2) containers whose monitor is gone are killed, (3) containers and (4) pods that
 * go are removed, (5) the sandboxes of pods with work are made, (6) /etc/hosts and the resolver follow the pods, (7)
 * containers are recreated, created and started in dependency order. Throws a RuntimeError naming
 * every container that failed.
 */
export async function executePlan(options: ExecutePlanOptions): Promise<ContainerOutcome[]> {
  const { context, project, plan } = options;
  const say = options.onProgress ?? (() => {});
  const machine = runtimeBackedMachine(context, project, { graceMs: options.stopGraceMs });
  const byKind = (kind: Operation['kind']) => plan.operations.filter((operation) => operation.kind === kind);
  await forgetStopped(context, byKind('forget-stopped'));
  const observed = await killContainers(context, byKind('kill'), options.observed, say);
  const observedById = new Map(observed.containers.map((container) => [container.id, container]));
  const containerOperation = async (operation: Operation) => {
    const outcome = describeOutcome(operation, await driveContainer(machine, operation, observedById.get(operation.id!)));
    say(outcome.error ? `✘ ${operation.resource}  ${outcome.error}` : `✔ ${operation.resource}  ${DONE_WORDS[operation.kind] ?? operation.kind}`);
    return outcome;
  };

  const outcomes: ContainerOutcome[] = [];
  outcomes.push(...(await runWithConcurrency(byKind('remove'), CONTAINER_CONCURRENCY, containerOperation)));
  // Side by side, as they are made: each pod's sandbox is its own (its namespace, cgroup and files;
  // host-local and iptables take their own locks), and one after another 50 bridged pods' DELs were
  // most of a `down`'s time.
  await runWithConcurrency(byKind('remove-pod'), CONTAINER_CONCURRENCY, async (operation) => {
    await removePodSandbox(context, operation.resource);
    say(`✔ ${operation.resource}  pod removed`);
  });
  // Only pods with something to start need their sandbox checked; an unchanged project touches none.
  const startOperations = plan.operations.filter((operation) => NEW_PROCESS.includes(operation.kind));
  const podsWithWork = new Set([...byKind('create-pod'), ...startOperations].map((operation) => operation.resource.split('/')[0]));
  await runWithConcurrency((project?.pods ?? []).filter((pod) => podsWithWork.has(pod.name)), CONTAINER_CONCURRENCY, async (pod) => {
    await ensurePodSandbox(context, pod, project!);
    if (byKind('create-pod').some((operation) => operation.resource === pod.name)) say(`✔ ${pod.name}  pod created`);
  });
  // Names follow pods: every pod's /etc/hosts lists the pods that exist now, before anything starts.
  if (project && plan.operations.some((operation) => !['remove', 'kill', 'forget-stopped'].includes(operation.kind))) await refreshHostsFiles(context, project, await existingPodSandboxes(context));
  // and the resolver serves every pod that has an address now, each replica under its service's name;
  // every `up` checks it, so that one that died or a file a crash left is repaired even when no pod changes.
  if (project || byKind('remove-pod').length > 0) await syncResolver(context.dirs);
  if (project && options.createOnly) outcomes.push(...(await createWithoutStarting(context, project, startOperations, observed, say)));
  else if (project) outcomes.push(...(await startInDependencyOrder({ context, project, operations: startOperations, observed, run: containerOperation, say })));

  const failed = outcomes.filter((outcome) => outcome.error);
  if (failed.length > 0) {
    throw new RuntimeError({
      resource: failed.map((outcome) => outcome.resource).join(', '),
      step: 'apply',
      message: failed.map((outcome) => outcome.error).join('; '),
      hint: 'fix the cause and run `corral up` again, or `corral down` to remove everything',
    });
  }
  return outcomes;
}
