import { setTimeout as sleep } from 'node:timers/promises';
import { createActor, waitFor } from 'xstate';
import type { Container, Dependency, DependencyCondition, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { readExitCode } from '../runtime/conmon.js';
import type { ObservedProject } from '../runtime/observe.js';
import { probingHealthMachine } from '../runtime/probe.js';
import { containerId } from '../state/paths.js';
import { FixableError } from '../fixable-error.js';

// When is a container ready for those that depend on it: started (its process runs), healthy (its
// healthcheck passed) or completed (it exited 0). Each answer is computed once and shared by every
// dependent, and by `up --wait`.

/** How often conmon's exit file is read while waiting for a container to complete. */
const COMPLETION_POLL_MS = 100;

/**
 * A container that will not become what a dependent (or `up --wait`) waits for. The message is the
 * reason alone ("unhealthy after 3 probes: ..."), for callers to put after the container's name;
 * toString says all: which container, why, and what to do.
 */
export class NotReadyError extends FixableError {
  override readonly name = 'NotReadyError';
  /** `resource` is `pod/container`, the error's subject. */
  constructor(options: { resource: string; reason: string; hint: string; cause?: unknown }) {
    super(options.reason, { ...options, subject: options.resource });
  }
}

const logsHint = (resource: string) => `see \`corral logs ${resource}\` for what it said`;

/**
 * Verdicts about one process's health, shared within this Corral process by `pid`: the apply that
 * gated a dependent on a healthy database and `up --wait` after it ask the same question about the
 * same process, and the second must not probe again from scratch (measured: healthy at 7.6 s, --wait
 * said so at 13.8 s). A passing verdict stays (a process that passed once has been healthy, which is
 * what both ask); a failing one is forgotten once settled, so that a long-lived caller (watch, gitops)
 * asks again on its next apply.
 */
const healthVerdicts = new Map<string, Promise<void>>();

/**
 * Resolves once the container's healthcheck passes; rejects with the last probe output once it is
 * unhealthy, or once its process `pid` exited before passing. One probing per process, shared.
 */
export function waitUntilHealthy(context: RuntimeContext, container: Container, id: string, pid: number): Promise<void> {
  const key = `${id}:${pid}`;
  let verdict = healthVerdicts.get(key);
  if (!verdict) {
    verdict = probeUntilHealthy(context, container, id, pid);
    healthVerdicts.set(key, verdict);
    // Forgets a failing verdict; every caller still gets the rejection through `verdict` itself.
    verdict.catch(() => healthVerdicts.delete(key));
  }
  return verdict;
}

async function probeUntilHealthy(context: RuntimeContext, container: Container, id: string, pid: number): Promise<void> {
  const resource = `${container.pod}/${container.name}`;
  const healthcheck = container.lifecycle.healthcheck;
  if (!healthcheck) return;
  const actor = createActor(probingHealthMachine(context), { input: { healthcheck, target: { id, pid } } }).start();
  try {
    const settled = await waitFor(actor, (snapshot) => snapshot.status === 'done' || snapshot.context.status !== 'starting', { timeout: Infinity });
    const lastOutput = settled.context.lastOutput || 'no output';
    if (settled.status === 'done') throw new NotReadyError({ resource, reason: `exited before its healthcheck passed (process ${pid}; last probe: ${lastOutput})`, hint: logsHint(resource) });
    if (settled.context.status !== 'healthy') {
      throw new NotReadyError({ resource, reason: `unhealthy after ${settled.context.probes} probes: ${lastOutput}`, hint: `check its healthcheck in the project file, and ${logsHint(resource)}` });
    }
  } finally {
    actor.stop();
  }
}

/** Resolves when the container exited 0; rejects when it exited otherwise. Polls conmon's exit file. */
export async function waitUntilCompleted(context: RuntimeContext, id: string, resource: string): Promise<void> {
  for (;;) {
    const code = await readExitCode(context.paths.exits, id);
    if (code === 0) return;
    if (code !== undefined) throw new NotReadyError({ resource, reason: `exited with code ${code}`, hint: `what waits for it to complete needs exit code 0; ${logsHint(resource)}` });
    await sleep(COMPLETION_POLL_MS);
  }
}

export interface Readiness {
  /** The container (`pod/container`) is running with this pid, or failed to start. */
  started(resource: string, outcome: { pid: number } | { error: string }): void;
  /** Resolves when `dependency` holds; rejects with a NotReadyError saying why it never will. */
  reached(dependency: Dependency): Promise<void>;
}

/**
 * Readiness of a project's containers. `planned` are those this apply starts (they report through
 * `started`); the others are judged by what was observed before the apply.
 */
export function trackReadiness(context: RuntimeContext, project: Project, planned: ReadonlySet<string>, observed: ObservedProject): Readiness {
  const observedByResource = new Map(observed.containers.map((container) => [`${container.pod}/${container.name}`, container]));
  const containers = new Map<string, Container>(project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container] as const)));
  const starts = new Map<string, { promise: Promise<number>; settle: (outcome: { pid: number } | { error: string }) => void }>();
  const startOf = (resource: string) => {
    let entry = starts.get(resource);
    if (!entry) {
      let settle!: (outcome: { pid: number } | { error: string }) => void;
      const promise = new Promise<number>((resolve, reject) => {
        settle = (outcome) => ('pid' in outcome ? resolve(outcome.pid) : reject(new NotReadyError({ resource, reason: outcome.error, hint: planned.has(resource) ? 'fix why it did not start (above), then run `corral up` again' : 'this up leaves it alone: run `corral up` without naming pods, or name its pod too' })));
      });
      // Only marks the rejection handled when no dependent awaits it; every await still sees it.
      promise.catch(() => {});
      entry = { promise, settle };
      starts.set(resource, entry);
      const before = observedByResource.get(resource);
      if (!planned.has(resource)) {
        if (before?.status === 'running' && before.pid) settle({ pid: before.pid });
        else settle({ error: before ? `is ${before.status}${before.exitCode === undefined ? '' : ` (exit code ${before.exitCode})`}` : 'does not exist' });
      }
    }
    return entry;
  };
  const answers = new Map<string, Promise<void>>();
  const compute = async (resource: string, condition: DependencyCondition) => {
    const [pod, name] = resource.split('/') as [string, string];
    const id = containerId(project.name, pod, name);
    if (condition === 'completed') {
      // A one-shot job that this apply leaves alone and that exited 0 is done.
      const before = observedByResource.get(resource);
      if (!planned.has(resource) && before?.status === 'exited' && before.exitCode === 0) return;
      await startOf(resource).promise;
      return waitUntilCompleted(context, id, resource);
    }
    const pid = await startOf(resource).promise;
    if (condition === 'healthy') await waitUntilHealthy(context, containers.get(resource)!, id, pid);
  };
  return {
    started: (resource, outcome) => startOf(resource).settle(outcome),
    reached(dependency) {
      const key = `${dependency.resource}:${dependency.condition}`;
      let answer = answers.get(key);
      if (!answer) {
        answer = compute(dependency.resource, dependency.condition);
        // As above: marked handled for when no one else waits for the same dependency.
        answer.catch(() => {});
        answers.set(key, answer);
      }
      return answer;
    },
  };
}
