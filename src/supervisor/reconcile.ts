import { computePlan, formatPlan } from '../plan/plan.js';
import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { observeProject } from '../runtime/observe.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { withProjectLock } from '../state/lock.js';
import { applyPlan } from './apply.js';
import { log } from '../log.js';

// One reconciliation of a project, the heart of `up`: under the project lock, observe what exists,
// plan against the desired model, apply the plan, and record what was applied.

export interface ReconcileOptions {
  /** Print the plan and change nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (line: string) => void;
}

export async function reconcileProject(project: Project, context: RuntimeContext, options: ReconcileOptions = {}): Promise<void> {
  const say = options.onProgress ?? (() => {});
  await withProjectLock(context.paths.lock, async () => {
    const observed = await observeProject(context);
    const plan = computePlan(project, observed);
    log.debug(`plan for ${project.name}:\n${formatPlan(plan) || 'nothing to do'}`);
    if (options.dryRun) {
      say(formatPlan(plan) || 'nothing to do');
      return;
    }
    await applyPlan(context, project, plan, observed, { onProgress: say });
    if (plan.upToDate.length > 0) say(`${plan.upToDate.length} container${plan.upToDate.length === 1 ? '' : 's'} up to date`);
    await writeJsonAtomic(context.paths.applied, { appliedAt: new Date().toISOString(), project });
  });
}
