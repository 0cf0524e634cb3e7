import type { Container, Pod, Project } from '../project/model.js';
import type { ObservedProject } from '../runtime/observe.js';
import { containerId } from '../state/paths.js';
import { canonicalJson, configHash } from './hash.js';

// Decide, then act: the plan is plain data computed from the desired model and the observed state,
// with no side effects, so it can be printed (`--dry-run`), tested as text, and then executed.

export type OperationKind = 'create-pod' | 'create' | 'recreate' | 'start' | 'remove' | 'remove-pod';

export interface Operation {
  readonly kind: OperationKind;
  /** `pod` or `pod/container`. */
  readonly resource: string;
  /** Why, in words a user understands. */
  readonly cause: string;
  /** runc id for container operations. */
  readonly id?: string;
  /** Desired config hash for create and recreate. */
  readonly hash?: string;
}

export interface Plan {
  readonly operations: readonly Operation[];
  /** Containers that already match the file, as `pod/container`. */
  readonly upToDate: readonly string[];
}

export interface PlanOptions {
  /** The project applied last time: recreate causes then name what changed ("env changed"). */
  readonly applied?: Project;
  /** Only these pods (`corral up web db`); nothing else is created, changed or removed. */
  readonly only?: ReadonlySet<string>;
  /** Containers the user stopped (`pod/container`): `up` starts them again. */
  readonly stopped?: ReadonlySet<string>;
}

/** A one-shot container that finished well is done: `up` leaves it, as it leaves a running one. */
function completed(container: Container, exitCode: number | undefined): boolean {
  return exitCode === 0 && (container.lifecycle.restart.name === 'no' || container.lifecycle.restart.name === 'on-failure');
}

/** What differs between the applied and the desired container, in the file's words. */
function describeChange(before: Container | undefined, beforePod: Pod | undefined, container: Container, pod: Pod): string {
  if (!before || !beforePod) return 'configuration changed';
  const differs = (a: unknown, b: unknown) => canonicalJson(a) !== canonicalJson(b);
  const changed = (Object.keys(container) as (keyof Container)[]).filter((key) => key !== 'lifecycle' && key !== 'watch' && differs(before[key], container[key]));
  const { dependsOn: _before, ...lifecycleBefore } = before.lifecycle ?? {};
  const { dependsOn: _after, ...lifecycleAfter } = container.lifecycle;
  for (const key of Object.keys(lifecycleAfter) as (keyof typeof lifecycleAfter)[]) {
    if (differs((lifecycleBefore as Record<string, unknown>)[key], lifecycleAfter[key])) changed.push(key as never);
  }
  const podChanged = (['share', 'shmSize', 'hostname', 'resources', 'network'] as const).filter((key) => differs(beforePod[key], pod[key])).map((key) => `pod ${key}`);
  const words = [...changed, ...podChanged];
  return words.length > 0 ? `${words.join(', ')} changed` : 'configuration changed';
}

/** Computes what must happen for the host to match the project. Deterministic: sorted by resource. */
export function computePlan(project: Project, observed: ObservedProject, options: PlanOptions = {}): Plan {
  const operations: Operation[] = [];
  const upToDate: string[] = [];
  const observedById = new Map(observed.containers.map((container) => [container.id, container]));
  const wantedIds = new Set<string>();
  const wantedPods = new Set(project.pods.map((pod) => pod.name));

  const inScope = (pod: string) => !options.only || options.only.has(pod);
  const appliedPods = new Map((options.applied?.pods ?? []).map((pod) => [pod.name, pod]));
  for (const pod of project.pods) {
    if (!inScope(pod.name)) continue;
    if (!observed.pods.includes(pod.name)) operations.push({ kind: 'create-pod', resource: pod.name, cause: 'new pod' });
    for (const container of pod.containers) {
      const id = containerId(project.name, pod.name, container.name);
      const resource = `${pod.name}/${container.name}`;
      const hash = configHash(container, pod);
      wantedIds.add(id);
      const existing = observedById.get(id);
      if (!existing) operations.push({ kind: 'create', resource, id, hash, cause: 'new container' });
      else if (existing.hash !== hash) {
        const beforePod = appliedPods.get(pod.name);
        const before = beforePod?.containers.find((candidate) => candidate.name === container.name);
        operations.push({ kind: 'recreate', resource, id, hash, cause: describeChange(before, beforePod, container, pod) });
      }
      else if (existing.status === 'exited' && (options.stopped?.has(resource) || !completed(container, existing.exitCode))) {
        const how = existing.exitCode === undefined ? 'stopped' : `exited with code ${existing.exitCode}`;
        operations.push({ kind: 'start', resource, id, hash, cause: how });
      } else if (existing.status === 'created') {
        // A crash between runc create and runc start leaves it so.
        operations.push({ kind: 'start', resource, id, hash, cause: 'created but never started' });
      } else upToDate.push(resource);
    }
  }

  recreateJoiners(project, operations, upToDate, inScope);

  for (const container of observed.containers) {
    if (wantedIds.has(container.id) || !inScope(container.pod)) continue;
    const why = wantedPods.has(container.pod) ? 'no longer in the pod' : 'pod no longer in the project file';
    operations.push({ kind: 'remove', resource: `${container.pod}/${container.name}`, id: container.id, cause: why });
  }
  for (const pod of observed.pods) {
    if (!wantedPods.has(pod) && inScope(pod)) operations.push({ kind: 'remove-pod', resource: pod, cause: 'no longer in the project file' });
  }

  return { operations: sortOperations(operations), upToDate: upToDate.sort() };
}

/**
 * A container in another's namespace (`network: container:web/app`) holds the namespace it joined:
 * when that container gets a new process, the joiner must be recreated to join the new one.
 */
function recreateJoiners(project: Project, operations: Operation[], upToDate: string[], inScope: (pod: string) => boolean): void {
  const renewed = (resource: string) => operations.some((operation) => operation.resource === resource && ['create', 'recreate', 'start'].includes(operation.kind));
  for (let changed = true; changed;) {
    changed = false;
    for (const pod of project.pods.filter((candidate) => inScope(candidate.name))) {
      for (const container of pod.containers) {
        const resource = `${pod.name}/${container.name}`;
        const joined = (['network', 'ipc', 'pid'] as const).map((key) => [key, container.namespaces[key]] as const)
          .find(([, mode]) => mode.kind === 'container' && renewed(`${mode.pod}/${mode.container}`));
        const current = operations.findIndex((operation) => operation.resource === resource);
        if (!joined || (current >= 0 && operations[current]!.kind !== 'start')) continue;
        const [key, mode] = joined as readonly [string, { pod: string; container: string }];
        const id = containerId(project.name, pod.name, container.name);
        const recreate: Operation = { kind: 'recreate', resource, id, hash: configHash(container, pod), cause: `joins the ${key} namespace of ${mode.pod}/${mode.container}, which gets a new one` };
        if (current >= 0) operations[current] = recreate;
        else {
          const index = upToDate.indexOf(resource);
          if (index < 0) continue;
          upToDate.splice(index, 1);
          operations.push(recreate);
        }
        changed = true;
      }
    }
  }
}

/** The plan that takes everything of the project away, for `down`. */
export function computeTeardown(observed: ObservedProject): Plan {
  const operations: Operation[] = [
    ...observed.containers.map((container): Operation => ({ kind: 'remove', resource: `${container.pod}/${container.name}`, id: container.id, cause: 'project down' })),
    ...observed.pods.map((pod): Operation => ({ kind: 'remove-pod', resource: pod, cause: 'project down' })),
  ];
  return { operations: sortOperations(operations), upToDate: [] };
}

const KIND_ORDER: Record<OperationKind, number> = { remove: 0, 'remove-pod': 1, 'create-pod': 2, recreate: 3, create: 4, start: 5 };

function sortOperations(operations: Operation[]): Operation[] {
  return operations.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
}

/** The plan as stable text, one line per operation: `recreate web/app: configuration changed`. */
export function formatPlan(plan: Plan): string {
  const lines = plan.operations.map((operation) => `${operation.kind} ${operation.resource}: ${operation.cause}`);
  if (plan.upToDate.length > 0) lines.push(`${plan.upToDate.length} container${plan.upToDate.length === 1 ? '' : 's'} up to date`);
  return lines.join('\n');
}
