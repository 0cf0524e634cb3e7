// What happened to a container, as `corral events` tells it (docker's event names): derived by the
// supervisor from what it sees change between two looks (the runtime's status and pid, its machine's
// health and backoff), not reported by each command that acts. So a container that a command
// created, one that crashed and one that a restart policy brought back are told the same way, and
// a supervisor that takes over continues from the facts the events already told (factsAfter).

import type { ContainerEvent } from '../state/events-log.js';

export type { ContainerAction, ContainerEvent } from '../state/events-log.js';

/** What the events have said about one container so far. */
export interface ContainerFacts {
  readonly status?: 'created' | 'running' | 'paused' | 'exited';
  readonly pid?: number;
  readonly health?: string;
  /** Restarts the supervisor has scheduled (its machine's count when it went into backoff). */
  readonly restartCount?: number;
  /** The kernel's OOM killer struck in this process's cgroup (told once per process). */
  readonly oom?: true;
  /** The last checkpoint told, and the last restore (runtime/checkpoint.ts's record). */
  readonly checkpointedAt?: string;
  readonly restoredAt?: string;
}

/** What the container's checkpoint record says: when it was taken, and when (and which pid) a restore brought it back. */
export interface CheckpointNote {
  readonly checkpointedAt: string;
  readonly leftRunning: boolean;
  readonly restoredAt?: string;
  readonly restoredPid?: number;
}

type Observed = Pick<ContainerFacts, 'status' | 'pid' | 'oom'> & { readonly exitCode?: number; readonly checkpoint?: CheckpointNote };

/** The facts after one event: what a successor supervisor starts from. */
export function factAfter(facts: ContainerFacts | undefined, event: Pick<ContainerEvent, 'action' | 'attributes'>): ContainerFacts | undefined {
  const pid = typeof event.attributes.pid === 'number' ? event.attributes.pid : undefined;
  switch (event.action) {
    case 'create': return { status: 'created' };
    case 'start': return { ...withoutOom(facts), status: 'running', pid, health: undefined };
    case 'oom': return { ...facts, oom: true };
    case 'die': return { ...facts, status: 'exited', pid: undefined, health: undefined };
    case 'pause': return { ...facts, status: 'paused' };
    case 'unpause': return { ...facts, status: 'running' };
    case 'health_status': return { ...facts, health: String(event.attributes.health) };
    case 'restart': return { ...facts, restartCount: Number(event.attributes.restartCount) };
    case 'destroy': return undefined;
    case 'checkpoint': return { ...facts, checkpointedAt: String(event.attributes.checkpointedAt) };
    case 'restore': return { ...facts, checkpointedAt: String(event.attributes.checkpointedAt), restoredAt: String(event.attributes.restoredAt) };
  }
}

/** A new process has had no OOM kill yet. */
function withoutOom(facts: ContainerFacts | undefined): ContainerFacts {
  const { oom: _told, ...rest } = facts ?? {};
  return rest;
}

/** Every container's facts after the events, in order: `pod/container` -> facts. */
export function factsAfter(events: readonly ContainerEvent[]): Map<string, ContainerFacts> {
  const facts = new Map<string, ContainerFacts>();
  for (const event of events) {
    const after = factAfter(facts.get(event.resource), event);
    if (after) facts.set(event.resource, after);
    else facts.delete(event.resource);
  }
  return facts;
}

type Told = Omit<ContainerEvent, 'time' | 'resource'>;

/**
 * The events between what was told and what the runtime shows now (undefined: the container does
 * not exist). A new process where another ran is a die then a start, even if the look in between
 * was missed; folding the result with factAfter gives the observation's status and pid.
 */
export function eventsOnObservation(before: ContainerFacts | undefined, now: Observed | undefined): Told[] {
  const alive = (status: ContainerFacts['status']) => status === 'running' || status === 'paused';
  // Removed while it ran (up recreating or removing it): it died first, as docker tells it.
  if (!now) return before ? [...(alive(before.status) ? [{ action: 'die' as const, attributes: {} }] : []), { action: 'destroy', attributes: {} }] : [];
  const told: Told[] = [];
  let status = before?.status;
  if (!before) {
    told.push({ action: 'create', attributes: {} });
    status = 'created';
    // First seen after it already ran and ended (it exited before the supervisor came): it started.
    if (now.status === 'exited') {
      told.push({ action: 'start', attributes: {} });
      status = 'running';
    }
  }
  // A checkpoint is told before the die it caused (it stops the container unless left running).
  const checkpoint = now.checkpoint;
  if (checkpoint && checkpoint.restoredAt === undefined && checkpoint.checkpointedAt !== before?.checkpointedAt) {
    told.push({ action: 'checkpoint', attributes: { checkpointedAt: checkpoint.checkpointedAt, ...(checkpoint.leftRunning ? { leftRunning: 'true' } : {}) } });
  }
  const restored = checkpoint?.restoredAt !== undefined && checkpoint.restoredAt !== before?.restoredAt && checkpoint.restoredPid === now.pid && alive(now.status) ? checkpoint : undefined;
  const sameProcess = alive(status) && alive(now.status) && before?.pid === now.pid;
  if (alive(status) && !sameProcess) {
    told.push({ action: 'die', attributes: now.status === 'exited' && now.exitCode !== undefined ? { exitCode: now.exitCode } : {} });
    status = 'exited';
  }
  if (restored) told.push({ action: 'restore', attributes: { checkpointedAt: restored.checkpointedAt, restoredAt: restored.restoredAt! } });
  if (alive(now.status) && !alive(status)) {
    told.push({ action: 'start', attributes: { ...(now.pid === undefined ? {} : { pid: now.pid }), ...(restored ? { restoredFrom: restored.checkpointedAt } : {}) } });
    status = 'running';
  }
  if (now.status === 'paused' && status === 'running') told.push({ action: 'pause', attributes: {} });
  if (now.status === 'running' && status === 'paused') told.push({ action: 'unpause', attributes: {} });
  return withOom(told, before, now);
}

/**
 * conmon's record of an OOM kill belongs to the process that runs now, or that ended last (each
 * launch removes the one before): told once, before that process's die as docker tells it, or last
 * when that process still runs (the killer may have taken a child only).
 */
function withOom(told: Told[], before: ContainerFacts | undefined, now: Observed): Told[] {
  const toldForThisProcess = before?.oom && !told.some((event) => event.action === 'start');
  if (!now.oom || toldForThisProcess) return told;
  const lastDie = told.map((event) => event.action).lastIndexOf('die');
  const diedLast = lastDie >= 0 && !told.slice(lastDie).some((event) => event.action === 'start');
  const oom = { action: 'oom' as const, attributes: {} };
  return diedLast ? [...told.slice(0, lastDie), oom, ...told.slice(lastDie)] : [...told, oom];
}

/** The events a machine's change tells: a new health verdict, a restart scheduled. */
export function eventsOnMachine(before: ContainerFacts | undefined, machine: { health?: string; inBackoff: boolean; restartCount: number; backoffMs: number }): Told[] {
  const told: Told[] = [];
  // `starting` is where every process begins, not news (docker tells no event for it either).
  const health = machine.health === 'starting' ? undefined : machine.health;
  if (health !== undefined && health !== before?.health && before?.status !== 'exited') told.push({ action: 'health_status', attributes: { health } });
  if (machine.inBackoff && machine.restartCount + 1 !== before?.restartCount) {
    told.push({ action: 'restart', attributes: { restartCount: machine.restartCount + 1, backoffMs: machine.backoffMs } });
  }
  return told;
}
