import { readdir, rm, rmdir } from 'node:fs/promises';
import { computeTeardown } from '../plan/plan.js';
import type { RuntimeContext } from '../runtime/context.js';
import { observeProject } from '../runtime/observe.js';
import { mountPointsUnder } from '../runtime/mounts.js';
import { projectCgroup } from '../state/paths.js';
import * as native from '../native.js';
import { executePlan, type ExecutionReport } from './execute.js';
import { stopSupervisor } from '../supervisor/launch.js';
import { removeLockAndItsDir, withProjectLock } from '../state/lock.js';
import { removeProjectNetwork } from '../network/project-network.js';
import { releaseHostLeases } from '../network/host-network.js';
import { refreshSharedNames } from '../network/names.js';
import { syncResolver } from '../network/resolver.js';
import { releaseUserNamespaces } from '../runtime/userns.js';
import { stopMonitors } from '../runtime/monitors.js';
import { crashPoint } from '../crash-point.js';
import { removeBootRecord } from '../state/boot-records.js';
import { removeHostVolumes } from '../runtime/host-volume-removal.js';

// `down`: every container and pod sandbox of the project goes, then whatever a crashed run may have
// left (mounts under the project's dirs, its cgroup, its runtime dir). Works from observation alone,
// without the project file and without a supervisor.

/** For a `.catch`: `fallback` when the path is not there (ENOENT), any other error as it is. */
function unlessMissing<T>(fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}

export async function tearDownProject(context: RuntimeContext, options: ExecutionReport & { removeVolumes?: boolean; stopGraceMs?: number } = {}): Promise<void> {
  // First: the project must not come back at the next boot, even if this down stops halfway.
  await removeBootRecord(context.paths.bootRecord);
  const observed = await observeProject(context);
  await executePlan({ context, project: undefined, plan: computeTeardown(observed), observed, onProgress: options.onProgress, stopGraceMs: options.stopGraceMs });
  crashPoint('down: containers and pods removed');
  for (const point of [...(await mountPointsUnder(context.paths.run)), ...(await mountPointsUnder(context.paths.state))]) {
    await native.unmount(point, { detach: true });
  }
  crashPoint('down: leftover mounts unmounted');
  // The resolver lets go of the project's pods (and stops when no pod is left on any bridge) before its bridges go.
  await syncResolver(context.dirs);
  await removeProjectNetwork(context);
  // Host networks stay; what the project's pods held of them goes, and the other projects' pods forget them.
  await releaseHostLeases(context.dirs, context.project);
  await refreshSharedNames(context.dirs);
  crashPoint('down: network removed');
  await stopMonitors(context.project);
  await native.killCgroup(projectCgroup(context.project));
  await native.removeCgroup(projectCgroup(context.project));
  crashPoint('down: cgroup removed');
  await releaseUserNamespaces(context.paths.usernsClaims, (id) => id.startsWith(`${context.project}.`));
  await rm(context.paths.containersState, { recursive: true, force: true });
  crashPoint('down: container state removed');
  // Recursive: a state file that something turned into a directory (the corrupt-state test does) goes too.
  for (const file of [context.paths.applied, context.paths.machines, context.paths.stopped, context.paths.supervisorLog, context.paths.events]) await rm(file, { recursive: true, force: true });
  crashPoint('down: applied project removed');
  if (options.removeVolumes) {
    await rm(context.paths.volumes, { recursive: true, force: true });
    // The host volumes the project made for a `name:`; one that another project's container uses stays, as with docker.
    const hostVolumes = await removeHostVolumes(context.dirs, { madeBy: context.project });
    for (const { name, usedBy } of hostVolumes.refused) options.onProgress?.(`volume ${name} kept: in use by ${usedBy.join(', ')}`);
  }
  // Leave no empty project dir behind, but never a volume the user keeps.
  const left = await readdir(context.paths.state).catch(unlessMissing([] as string[]));
  if (left.length === 0) await rmdir(context.paths.state).catch(unlessMissing(undefined));
  // The run dir last, and its lock file after all the rest: once that is gone, a new command can take
  // a new lock at once, so nothing of this down may come after it.
  crashPoint('down: before the run dir goes');
  await removeLockAndItsDir(context.paths.lock);
}

/**
 * `down`: first the supervisor (so that no restart policy brings anything back), then, under the lock,
 * everything else. An `up` that finished while this down waited for the lock may have started a new
 * supervisor meanwhile: it is stopped under the lock too, where no other can start. `supervisorStopped`:
 * the caller already began stopping it (to overlap that with loading this module).
 */
export async function takeProjectDown(context: RuntimeContext, options: ExecutionReport & { removeVolumes?: boolean; stopGraceMs?: number; supervisorStopped?: Promise<void> } = {}): Promise<void> {
  await (options.supervisorStopped ?? stopSupervisor(context));
  await withProjectLock(context.paths.lock, async () => {
    await stopSupervisor(context);
    await tearDownProject(context, options);
  }, undefined, { purpose: 'take down' });
}
