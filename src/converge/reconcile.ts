import { reachableFrom } from '../project/graph.js';
import { computePlan, createOnlyPlan, formatPlan, type Plan } from '../plan/plan.js';
import type { Project } from '../project/model.js';
import { ensureProjectDirs, type RuntimeContext } from '../runtime/context.js';
import { observeProject, type ObservedProject } from '../runtime/observe.js';
import { markContainersWithoutMonitor } from '../runtime/lost-monitor.js';
import { mountPointsUnder } from '../runtime/mounts.js';
import { checkWritable, writeFileAtomic } from '../state/atomic.js';
import { withProjectLock } from '../state/lock.js';
import { readAppliedProject } from '../project/applied-project.js';
import { readStoppedSet } from '../state/snapshots.js';
import { executePlan } from './execute.js';
import { checkHostPorts } from '../network/pod-network.js';
import { checkExternalNetworks } from '../network/project-network.js';
import { checkExternalVolumes } from '../runtime/host-volume.js';
import { log } from '../log.js';

// One reconciliation of a project, the heart of `up`: under the project lock, observe what exists,
// plan against the desired model, apply the plan, and record what was applied.

export interface ReconcileOptions {
  /** Print the plan and change nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (line: string) => void;
  /** Only these pods (and, unless noDeps, the pods they depend on). */
  readonly pods?: readonly string[];
  readonly noDeps?: boolean;
  /** Containers to make anew although their configuration is the same (`pod/container` → why). */
  readonly recreate?: ReadonlyMap<string, string>;
  /** `--no-recreate`: containers whose configuration changed keep running as they are. */
  readonly noRecreate?: boolean;
  /** How long a container stopped to be recreated or removed gets after its stop signal (`-t`). */
  readonly stopGraceMs?: number;
  /** `corral create`: make what is missing or outdated and start nothing (see createOnlyPlan). */
  readonly createOnly?: boolean;
}

/** How long another command may hold the project lock before `up` says it waits for it. */
const LOCK_WAIT_NOTICE_MS = 150;

/**
 * What `up` plans from: the project as observed, and what only `up` repairs, found without changing
 * anything (so that `--dry-run` shows it): running containers whose conmon died, and exited ones
 * whose root is no longer mounted.
 */
export async function observeForUp(context: RuntimeContext): Promise<ObservedProject> {
  const observed = await observeProject(context);
  const [containers, mounted] = await Promise.all([markContainersWithoutMonitor(context, observed.containers), mountPointsUnder(context.paths.containersRun)]);
  const mountedRoots = new Set(mounted);
  const rootGone = (id: string) => !mountedRoots.has(context.paths.container(id).rootfs);
  return { ...observed, containers: containers.map((container) => (container.status === 'exited' && rootGone(container.id) ? { ...container, rootfsGone: true as const } : container)) };
}

/** The pods an `up` touches: those named, plus what their containers depend on unless --no-deps. */
export function podsInScope(project: Project, named: readonly string[] | undefined, noDeps = false): Set<string> | undefined {
  if (!named?.length) return undefined;
  if (noDeps) return new Set(named);
  const edges = new Map(project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container.lifecycle.dependsOn.map((dependency) => dependency.resource)] as const)));
  const roots = project.pods.filter((pod) => named.includes(pod.name)).flatMap((pod) => pod.containers.map((container) => `${pod.name}/${container.name}`));
  return new Set([...named, ...[...reachableFrom(roots, edges)].map((resource) => resource.split('/')[0]!)]);
}

/** What is applied after an up limited to `scope`: the new pods in scope, the previous ones elsewhere. */
function appliedAfter(project: Project, previous: Project | undefined, scope: ReadonlySet<string> | undefined): Project {
  if (!scope) return project;
  const kept = (previous?.pods ?? []).filter((pod) => !scope.has(pod.name));
  const pods = [...kept, ...project.pods.filter((pod) => scope.has(pod.name))].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { ...project, pods };
}

/** Applies the project; returns the plan it carried out (or printed, with dryRun). */
export async function reconcileProject(project: Project, context: RuntimeContext, options: ReconcileOptions = {}): Promise<Plan> {
  const say = options.onProgress ?? (() => {});
  const unknown = (options.pods ?? []).filter((name) => !project.pods.some((pod) => pod.name === name));
  if (unknown.length > 0) throw new Error(`no pod named ${unknown.join(', ')} in ${project.file} (pods: ${project.pods.map((pod) => pod.name).join(', ')})`);
  const scope = podsInScope(project, options.pods, options.noDeps);
  return withProjectLock(context.paths.lock, async () => {
    await ensureProjectDirs(context.paths);
    const [applied, observed, stopped] = await Promise.all([readAppliedProject(context.paths.applied), observeForUp(context), readStoppedSet(context.paths.stopped)]);
    const computed = computePlan(project, observed, { applied, only: scope, stopped, recreate: options.recreate, noRecreate: options.noRecreate });
    const plan = options.createOnly ? createOnlyPlan(computed) : computed;
    log.debug(`plan for ${project.name}:\n${formatPlan(plan) || 'nothing to do'}`);
    if (options.dryRun) {
      say(formatPlan(plan) || 'nothing to do');
      return plan;
    }
    const record = () => `${JSON.stringify({ appliedAt: new Date().toISOString(), project: appliedAfter(project, applied, scope) }, null, 2)}\n`;
    // A full or read-only state dir fails the up here, before anything changes, not halfway.
    await checkWritable(context.paths.applied, record());
    await checkHostPorts(context, project);
    await checkExternalNetworks(context, project);
    await checkExternalVolumes(context, project);
    try {
      await executePlan({ context, project, plan, observed, onProgress: say, stopGraceMs: options.stopGraceMs, createOnly: options.createOnly });
    } finally {
      // Recorded even after a partial failure: the supervisor then follows what does run.
      await writeFileAtomic(context.paths.applied, record());
    }
    if (plan.upToDate.length > 0) say(`${plan.upToDate.length} container${plan.upToDate.length === 1 ? '' : 's'} up to date`);
    return plan;
  }, (waitedMs) => {
    if (waitedMs > LOCK_WAIT_NOTICE_MS) say(`waited ${(waitedMs / 1000).toFixed(1)}s for another corral command on project ${project.name} to finish`);
  }, { purpose: options.dryRun ? 'plan' : 'apply' });
}
