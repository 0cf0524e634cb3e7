import type { Container, Pod, Project } from '../project/model.js';

// What comes back when the host boots, decided from the applied project and the stopped set alone, as
// Docker's daemon decides at its start from its containers' recorded restart policies: `always` comes
// back (even one the user stopped: that is how `always` differs from `unless-stopped` in Docker),
// `unless-stopped` comes back unless the user stopped it, `no` and `on-failure` stay down. Plain data,
// printed as text by `corral boot --dry-run`; converge/boot.ts carries it out.

export type BootDecision = 'bring-back' | 'leave-down';

export interface BootEntry {
  /** `pod/container`. */
  readonly resource: string;
  readonly decision: BootDecision;
  /** Why, in the file's words: `restart: unless-stopped, stopped by \`corral stop\``. */
  readonly cause: string;
  /** Brought back although in the stopped set (`always`): it leaves the set, or the supervisor would stop it again. */
  readonly leavesStoppedSet?: boolean;
}

export interface BootSelection {
  readonly project: string;
  /** Every container of the applied project, sorted by resource. */
  readonly entries: readonly BootEntry[];
}

/** Why a container stopped by the user comes back at boot, for its forget-stopped operation. */
export const ALWAYS_COMES_BACK = 'restart: always comes back at boot, even when stopped';

function decide(container: Container, stopped: boolean): Omit<BootEntry, 'resource'> {
  const policy = container.lifecycle.restart.name;
  const words = `restart: ${policy}`;
  if (policy === 'always') return stopped ? { decision: 'bring-back', cause: `${words}, although stopped by \`corral stop\``, leavesStoppedSet: true } : { decision: 'bring-back', cause: words };
  if (policy === 'unless-stopped') return stopped ? { decision: 'leave-down', cause: `${words}, stopped by \`corral stop\`` } : { decision: 'bring-back', cause: words };
  return { decision: 'leave-down', cause: words };
}

/** Which containers of the applied project come back at boot. Deterministic: sorted by resource. */
export function computeBootSelection(applied: Project, stopped: ReadonlySet<string>): BootSelection {
  const entries = applied.pods.flatMap((pod) => pod.containers.map((container): BootEntry => {
    const resource = `${pod.name}/${container.name}`;
    return { resource, ...decide(container, stopped.has(resource)) };
  }));
  return { project: applied.name, entries: entries.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0)) };
}

/** The containers the selection brings back, as `pod/container`. */
export function broughtBack(selection: BootSelection): Set<string> {
  return new Set(selection.entries.filter((entry) => entry.decision === 'bring-back').map((entry) => entry.resource));
}

/**
 * The project boot applies: the applied one, with the dependencies on containers that stay down left
 * out. Docker's daemon starts what comes back without waiting for containers it leaves down (a
 * one-shot migration before a server, say); waiting for them would keep the server down for ever.
 */
export function bootProject(applied: Project, selection: BootSelection): Project {
  const back = broughtBack(selection);
  const withoutDownDependencies = (container: Container): Container => ({
    ...container,
    lifecycle: { ...container.lifecycle, dependsOn: container.lifecycle.dependsOn.filter((dependency) => back.has(dependency.resource)) },
  });
  return { ...applied, pods: applied.pods.map((pod): Pod => ({ ...pod, containers: pod.containers.map(withoutDownDependencies) })) };
}

/** The selection as stable text, one line per container: `bring back web/app: restart always`. */
export function formatBootSelection(selection: BootSelection): string {
  return selection.entries.map((entry) => (entry.decision === 'bring-back' ? `bring back ${entry.resource}: ${entry.cause}` : `leave ${entry.resource} down: ${entry.cause}`)).join('\n');
}
