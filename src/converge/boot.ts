import { computeBootSelection, broughtBack, bootProject, formatBootSelection, ALWAYS_COMES_BACK, type BootSelection } from '../plan/boot.js';
import { computePlan, formatPlan } from '../plan/plan.js';
import type { Project } from '../project/model.js';
import { readAppliedProject } from '../project/applied-project.js';
import { ensureProjectDirs, openRuntime, type RuntimeContext } from '../runtime/context.js';
import { RuntimeError } from '../runtime/errors.js';
import { type BootRecord, readBootRecords, writeBootRecord } from '../state/boot-records.js';
import { withProjectLock } from '../state/lock.js';
import { bootRecordsDir, dirsFromEnvironment } from '../state/paths.js';
import { pathExists } from '../state/read.js';
import { readStoppedSet } from '../state/snapshots.js';
import { notifySupervisor } from '../supervisor/launch.js';
import { executePlan } from './execute.js';
import { observeForUp } from './reconcile.js';

// Back after a reboot. `up -d` records the project (recordForBoot); at boot, `corral boot` (run by
// the systemd unit of boot-service.ts, or by the init system) brings back, for every recorded project,
// the containers whose restart policy says so (plan/boot.ts), and starts the project's supervisor, as
// `up -d` does. It runs the applied project (applied.json), not the project file: that is what was
// up when the host went down, as Docker's daemon starts its containers from their recorded config;
// the file may have changed since without being applied, may not be readable yet at boot (a network
// mount, a home dir), and its variables came from the environment of the user's shell, which the
// boot has not.

export interface BootOptions {
  /** Print what would come back, change nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (line: string) => void;
}

/**
 * Records that `up -d` left the project up, under the project lock and only while it is applied: a
 * `down` that ran since must not be followed by a record that brings the project back at boot.
 */
export async function recordForBoot(context: RuntimeContext, project: Project, profiles: readonly string[]): Promise<void> {
  await withProjectLock(context.paths.lock, async () => {
    if (!(await pathExists(context.paths.applied))) return;
    await writeBootRecord(context.paths.bootRecord, {
      project: project.name, file: project.file, dir: project.dir, sources: project.sources, profiles, recordedAt: new Date().toISOString(),
    });
  }, undefined, { purpose: 'record for boot' });
}

const indent = (text: string) => text.split('\n').map((line) => `  ${line}`).join('\n');

/**
 * One project: under its lock, (1) read the applied project, the stopped set and what runs, (2) select
 * what comes back and plan it (only those containers: the others are neither made nor removed), (3)
 * execute the plan; then the supervisor follows, as after `up -d`. The selection, or undefined when
 * nothing is applied any more.
 */
async function bringBackProject(record: BootRecord, options: BootOptions): Promise<BootSelection | undefined> {
  const say = options.onProgress ?? (() => {});
  const context = await openRuntime(record.project, { readOnly: options.dryRun });
  say(`project ${record.project} (up -d of ${record.file} at ${record.recordedAt}):`);
  const selection = await withProjectLock(context.paths.lock, async () => {
    if (!options.dryRun) await ensureProjectDirs(context.paths);
    const [applied, stopped, observed] = await Promise.all([readAppliedProject(context.paths.applied), readStoppedSet(context.paths.stopped), observeForUp(context)]);
    if (!applied) {
      say(`  nothing is applied (no ${context.paths.applied}): nothing comes back`);
      return undefined;
    }
    const chosen = computeBootSelection(applied, stopped);
    say(indent(formatBootSelection(chosen) || 'no containers'));
    const project = bootProject(applied, chosen);
    const plan = computePlan(project, observed, { applied, stopped, containers: broughtBack(chosen), forgetStoppedCause: ALWAYS_COMES_BACK });
    if (options.dryRun) {
      say(indent(formatPlan(plan) || 'nothing to do'));
      return chosen;
    }
    await executePlan({ context, project, plan, observed, onProgress: (line) => say(`  ${line}`) });
    return chosen;
  }, undefined, { purpose: 'bring back at boot' });
  if (!options.dryRun && selection && broughtBack(selection).size > 0) await notifySupervisor(context);
  return selection;
}

/**
 * `corral boot`: every recorded project in turn; one that fails does not keep the others down. Throws
 * a RuntimeError naming those that failed, once all had their turn.
 */
export async function bringBackRecordedProjects(options: BootOptions = {}): Promise<void> {
  const say = options.onProgress ?? (() => {});
  const records = await readBootRecords(bootRecordsDir(dirsFromEnvironment()));
  if (records.length === 0) {
    say('no project to bring back: none is left up by `corral up -d`');
    return;
  }
  const failures: { project: string; error: Error }[] = [];
  for (const record of records) {
    try {
      await bringBackProject(record, options);
    } catch (error) {
      // Reported with the others at the end: the next project still gets its turn.
      failures.push({ project: record.project, error: error as Error });
      say(`✘ ${record.project}  ${String(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new RuntimeError({
      resource: failures.map((failure) => failure.project).join(', '),
      step: 'boot',
      message: failures.map((failure) => failure.error.message).join('; '),
      hint: 'fix the cause and run `corral boot` again (or `corral up -d` of the project)',
      cause: failures[0]!.error,
    });
  }
}
