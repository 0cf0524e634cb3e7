import type { RuntimeContext } from './context.js';
import { RuntimeError } from './errors.js';
import * as runc from './runc.js';

// `pause` freezes every process of a container where it stands (the OCI runtime's pause: the v1
// freezer's freezer.state, or cgroup.freeze on v2); `unpause` thaws them. A paused container is not
// probed and not restarted. A frozen process does not act on a signal (on v1 not even SIGKILL) until
// it is thawed, so whatever stops, restarts or removes a container thaws it first, as docker does
// when it stops or kills a paused container.

/** Freezes a running container. */
export async function pauseContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    await runc.pauseContainer(context.runc, id);
  } catch (error) {
    throw new RuntimeError({ resource, step: 'pause', message: (error as Error).message, cause: error, hint: 'only a running container can be paused; see `corral ps`' });
  }
}

/** Thaws a paused container. */
export async function unpauseContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    await runc.resumeContainer(context.runc, id);
  } catch (error) {
    throw new RuntimeError({ resource, step: 'unpause', message: (error as Error).message, cause: error, hint: 'only a paused container can be unpaused; see `corral ps`' });
  }
}

/** Thaws the container if it is paused, so that a signal reaches its processes; reads runc's state file, no runc process otherwise. */
export async function thawIfPaused(context: RuntimeContext, id: string): Promise<void> {
  if ((await runc.containerStateQuickly(context.runc, id))?.status === 'paused') await runc.resumeContainer(context.runc, id);
}
