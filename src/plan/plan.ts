import type { Project } from '../project/model.js';
import type { ObservedProject } from '../runtime/observe.js';
import { containerId } from '../state/paths.js';
import { configHash } from './hash.js';

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

/** Computes what must happen for the host to match the project. Deterministic: sorted by resource. */
export function computePlan(project: Project, observed: ObservedProject): Plan {
  const operations: Operation[] = [];
  const upToDate: string[] = [];
  const observedById = new Map(observed.containers.map((container) => [container.id, container]));
  const wantedIds = new Set<string>();
  const wantedPods = new Set(project.pods.map((pod) => pod.name));

  for (const pod of project.pods) {
    if (!observed.pods.includes(pod.name)) operations.push({ kind: 'create-pod', resource: pod.name, cause: 'new pod' });
    for (const container of pod.containers) {
      const id = containerId(project.name, pod.name, container.name);
      const resource = `${pod.name}/${container.name}`;
      const hash = configHash(container, pod);
      wantedIds.add(id);
      const existing = observedById.get(id);
      if (!existing) operations.push({ kind: 'create', resource, id, hash, cause: 'new container' });
      else if (existing.hash !== hash) operations.push({ kind: 'recreate', resource, id, hash, cause: 'configuration changed' });
      else if (existing.status === 'exited') {
        const how = existing.exitCode === undefined ? 'stopped' : `exited with code ${existing.exitCode}`;
        operations.push({ kind: 'start', resource, id, hash, cause: how });
      } else upToDate.push(resource);
    }
  }

  for (const container of observed.containers) {
    if (wantedIds.has(container.id)) continue;
    const why = wantedPods.has(container.pod) ? 'no longer in the pod' : 'pod no longer in the project file';
    operations.push({ kind: 'remove', resource: `${container.pod}/${container.name}`, id: container.id, cause: why });
  }
  for (const pod of observed.pods) {
    if (!wantedPods.has(pod)) operations.push({ kind: 'remove-pod', resource: pod, cause: 'no longer in the project file' });
  }

  return { operations: sortOperations(operations), upToDate: upToDate.sort() };
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
