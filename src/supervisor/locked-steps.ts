import { existsSync } from 'node:fs';
import pLimit from 'p-limit';
import type { RuntimeContext } from '../runtime/context.js';
import { withProjectLock } from '../state/lock.js';
import type { ProjectPaths } from '../state/paths.js';
import { SupervisorError } from './errors.js';

// Every runtime step of the supervisor (a restart, a stop, a pass that observes) runs through here:
// one at a time, under the project lock, and only while the project is applied. `down` may have run
// meanwhile (it removes the run dir and the applied project): then there is nothing left to
// supervise, and acting would bring back what `down` removed.

export type UnderLock = <T>(work: () => Promise<T>) => Promise<T>;

/** Whether the project is applied: its run dir and its applied project are there. */
export function isApplied(paths: Pick<ProjectPaths, 'run' | 'applied'>): boolean {
  return existsSync(paths.run) && existsSync(paths.applied);
}

/** Runs steps one at a time under the project lock; SupervisorError (project-gone) once `down` ran. */
export function lockedSteps(context: Pick<RuntimeContext, 'project' | 'paths'>): UnderLock {
  const { paths } = context;
  const gone = (cause?: unknown) => SupervisorError.projectGone(context.project, paths, cause);
  // One at a time: at most one pool thread ever waits on the project lock.
  const serial = pLimit(1);
  return <T>(work: () => Promise<T>) => serial(async () => {
    if (!isApplied(paths)) throw gone();
    // Never recreate the run dir that a `down` removed: a missing lock dir means the project is gone.
    const locked = withProjectLock(paths.lock, async () => {
      if (!isApplied(paths)) throw gone();
      return work();
    }, undefined, { createDir: false, purpose: 'supervise' });
    return locked.catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' && error.path === paths.lock ? gone(error) : error;
    });
  });
}
