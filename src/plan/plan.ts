import type { Container, Pod, Project } from '../project/model.js';
import type { ObservedProject } from '../runtime/observe.js';
import { containerId } from '../state/paths.js';
import { canonicalJson, configHash, HASHED_POD_SETTINGS, hashedView } from './hash.js';
import { afterKill } from '../runtime/lost-monitor.js';

// Decide, then act: the plan is plain data computed from the desired model and the observed state,
// with no side effects, so it can be printed (`--dry-run`), tested as text, and then executed. Every
// change an `up` makes is an operation here, the repairs too (a container whose monitor is gone is
// killed, one whose root is gone is made anew), so that `--dry-run` shows all of it.

export type OperationKind = 'forget-stopped' | 'kill' | 'create-pod' | 'create' | 'recreate' | 'start' | 'remove' | 'remove-pod';

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
  /** Containers to make anew although their configuration is the same (`pod/container` → why). */
  readonly recreate?: ReadonlyMap<string, string>;
  /** `up --no-recreate`: a container whose configuration changed keeps running as it is. */
  readonly noRecreate?: boolean;
  /**
   * Only these containers (`pod/container`) are created, started or taken out of the stopped set;
   * the project's others are left as they are, neither made nor removed (`corral boot`).
   */
  readonly containers?: ReadonlySet<string>;
  /** Why stopped containers come back, for their forget-stopped operations. */
  readonly forgetStoppedCause?: string;
}

/** Why `up` takes containers out of the stopped set, as docker compose does. */
const UP_FORGETS_STOPPED = 'up brings back what stop stopped';

/** A one-shot container that finished well is done: `up` leaves it, as it leaves a running one, and `up --wait` counts it ready. */
export function ranToCompletion(container: Container, exitCode: number | undefined): boolean {
  return exitCode === 0 && (container.lifecycle.restart.name === 'no' || container.lifecycle.restart.name === 'on-failure');
}

/** What differs between the applied and the desired container, in the file's words. */
function describeChange(before: Container | undefined, beforePod: Pod | undefined, container: Container, pod: Pod): string {
  if (!before || !beforePod) return 'configuration changed';
  // The words come from what the hash covers, so a cause never names what does not recreate.
  const differs = (a: unknown, b: unknown) => canonicalJson(a) !== canonicalJson(b);
  const was = hashedView(before, beforePod);
  const now = hashedView(container, pod);
  const changedKeys = (a: Record<string, unknown>, b: Record<string, unknown>) => [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => differs(a[key], b[key]));
  const changed = changedKeys(was.container, now.container).filter((key) => key !== 'lifecycle');
  changed.push(...changedKeys((was.container.lifecycle ?? {}) as Record<string, unknown>, now.container.lifecycle as Record<string, unknown>));
  const podChanged = HASHED_POD_SETTINGS.filter((key) => differs(was.pod[key], now.pod[key])).map((key) => `pod ${key}`);
  const words = [...changed, ...podChanged];
  return words.length > 0 ? `${words.join(', ')} changed` : 'configuration changed';
}

/** Computes what must happen for the host to match the project. Deterministic: sorted by resource. */
export function computePlan(project: Project, observed: ObservedProject, options: PlanOptions = {}): Plan {
  const operations: Operation[] = [];
  const upToDate: string[] = [];
  const inScope = (pod: string) => !options.only || options.only.has(pod);
  const chosen = (resource: string) => !options.containers || options.containers.has(resource);

  // A container whose conmon died would never be seen to exit, so no restart policy would ever apply:
  // it is killed whatever the scope, and planned as the exited container it then is.
  for (const container of observed.containers.filter((candidate) => candidate.monitorLost)) {
    operations.push({ kind: 'kill', resource: `${container.pod}/${container.name}`, id: container.id, cause: 'its monitor (conmon) is gone' });
  }
  const containers = observed.containers.map((container) => (container.monitorLost ? afterKill(container) : container));
  // `up` brings back what `stop` stopped, as in docker compose.
  for (const resource of [...(options.stopped ?? [])].sort()) {
    if (inScope(resource.split('/')[0]!) && chosen(resource)) operations.push({ kind: 'forget-stopped', resource, cause: options.forgetStoppedCause ?? UP_FORGETS_STOPPED });
  }

  const observedById = new Map(containers.map((container) => [container.id, container]));
  const wantedIds = new Set<string>();
  const wantedPods = new Set(project.pods.map((pod) => pod.name));
  const appliedPods = new Map((options.applied?.pods ?? []).map((pod) => [pod.name, pod]));
  for (const pod of project.pods) {
    if (!inScope(pod.name)) continue;
    const podChosen = pod.containers.some((container) => chosen(`${pod.name}/${container.name}`));
    if (!observed.pods.includes(pod.name) && podChosen) operations.push({ kind: 'create-pod', resource: pod.name, cause: 'new pod' });
    for (const container of pod.containers) {
      const id = containerId(project.name, pod.name, container.name);
      const resource = `${pod.name}/${container.name}`;
      wantedIds.add(id);
      if (!chosen(resource)) continue;
      const hash = configHash(container, pod);
      const existing = observedById.get(id);
      const forced = options.recreate?.get(resource);
      if (!existing) operations.push({ kind: 'create', resource, id, hash, cause: 'new container' });
      else if (existing.hash !== hash && options.noRecreate) upToDate.push(resource);
      else if (existing.hash !== hash) {
        const beforePod = appliedPods.get(pod.name);
        const before = beforePod?.containers.find((candidate) => candidate.name === container.name);
        operations.push({ kind: 'recreate', resource, id, hash, cause: describeChange(before, beforePod, container, pod) });
      } else if (forced !== undefined) operations.push({ kind: 'recreate', resource, id, hash, cause: forced });
      else if (existing.status === 'exited' && (options.stopped?.has(resource) || !ranToCompletion(container, existing.exitCode))) {
        // A `down` killed halfway may have unmounted its root: then it cannot start again in place.
        if (existing.rootfsGone) operations.push({ kind: 'recreate', resource, id, hash, cause: 'its root file system is gone (a down stopped halfway)' });
        else operations.push({ kind: 'start', resource, id, hash, cause: existing.exitCode === undefined ? 'stopped' : `exited with code ${existing.exitCode}` });
      } else if (existing.status === 'created') {
        // A crash between runc create and runc start leaves it so.
        operations.push({ kind: 'start', resource, id, hash, cause: 'created but never started' });
      } else upToDate.push(resource);
    }
  }

  recreateJoiners(project, operations, upToDate, inScope);

  // One-off containers (`corral run`) and their pods are in no project file: `up` leaves them, as compose's does.
  const oneOffPods = new Set(containers.filter((container) => container.oneOff).map((container) => container.pod));
  for (const container of containers) {
    if (wantedIds.has(container.id) || !inScope(container.pod) || container.oneOff) continue;
    const why = wantedPods.has(container.pod) ? 'no longer in the pod' : 'pod no longer in the project file';
    operations.push({ kind: 'remove', resource: `${container.pod}/${container.name}`, id: container.id, cause: why });
  }
  for (const pod of observed.pods) {
    if (!wantedPods.has(pod) && inScope(pod) && !oneOffPods.has(pod)) operations.push({ kind: 'remove-pod', resource: pod, cause: 'no longer in the project file' });
  }

  return { operations: sortOperations(operations), upToDate: upToDate.sort() };
}

/** The operations that give a container a new process. */
export const NEW_PROCESS: readonly OperationKind[] = ['create', 'recreate', 'start'];
/** The operations that decide a container's fate in this apply (a kill or forget-stopped comes before one). */
const CONTAINER_CHANGES: readonly OperationKind[] = [...NEW_PROCESS, 'remove'];

/**
 * A container in another's namespace (`network: container:web/app`) holds the namespace it joined:
 * when that container gets a new process, the joiner must be recreated to join the new one.
 */
function recreateJoiners(project: Project, operations: Operation[], upToDate: string[], inScope: (pod: string) => boolean): void {
  const renewed = (resource: string) => operations.some((operation) => operation.resource === resource && NEW_PROCESS.includes(operation.kind));
  const changeOf = (resource: string) => operations.findIndex((operation) => operation.resource === resource && CONTAINER_CHANGES.includes(operation.kind));
  for (let changed = true; changed;) {
    changed = false;
    for (const pod of project.pods.filter((candidate) => inScope(candidate.name))) {
      for (const container of pod.containers) {
        const resource = `${pod.name}/${container.name}`;
        const joined = (['network', 'ipc', 'pid'] as const).map((key) => [key, container.namespaces[key]] as const)
          .find(([, mode]) => mode.kind === 'container' && renewed(`${mode.pod}/${mode.container}`));
        const current = changeOf(resource);
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

/** What `corral create` keeps of an `up`'s plan: repairs, pods and containers to make; nothing started, forgotten or removed. */
export function createOnlyPlan(plan: Plan): Plan {
  const kept: readonly OperationKind[] = ['kill', 'create-pod', 'create', 'recreate'];
  return { ...plan, operations: plan.operations.filter((operation) => kept.includes(operation.kind)) };
}

/** The plan that takes everything of the project away, for `down`. */
export function computeTeardown(observed: ObservedProject): Plan {
  const operations: Operation[] = [
    ...observed.containers.map((container): Operation => ({ kind: 'remove', resource: `${container.pod}/${container.name}`, id: container.id, cause: 'project down' })),
    ...observed.pods.map((pod): Operation => ({ kind: 'remove-pod', resource: pod, cause: 'project down' })),
  ];
  return { operations: sortOperations(operations), upToDate: [] };
}

// Repairs and bookkeeping first, then what goes, then what comes.
const KIND_ORDER: Record<OperationKind, number> = { 'forget-stopped': 0, kill: 1, remove: 2, 'remove-pod': 3, 'create-pod': 4, recreate: 5, create: 6, start: 7 };

function sortOperations(operations: Operation[]): Operation[] {
  return operations.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
}

/** The plan as stable text, one line per operation: `recreate web/app: configuration changed`. */
export function formatPlan(plan: Plan): string {
  const lines = plan.operations.map((operation) => `${operation.kind} ${operation.resource}: ${operation.cause}`);
  if (plan.upToDate.length > 0) lines.push(`${plan.upToDate.length} container${plan.upToDate.length === 1 ? '' : 's'} up to date`);
  return lines.join('\n');
}
