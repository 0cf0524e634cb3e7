import type { RuntimeContext } from './context.js';
import * as runc from './runc.js';
import { thawIfPaused } from './pause.js';

// The containers of a pod checkpointed together are frozen together first (the OCI runtime's pause:
// cgroup.freeze of each container's cgroup), so that none runs on while another is dumped: the
// checkpoint holds them as they stood at one moment, not one container seconds after the other went on
// talking to it. CRIU finds each one frozen, dumps it and leaves it as it found it (frozen, when it
// runs on); the rest are thawed once every one is dumped. The pod's own cgroup is not the one frozen:
// in the guest (CRIU 3.17, cgroup v2) the dump of the first container of a pod frozen so did not end
// in 300 s, presumably because CRIU's seized tasks must leave the freezer to reach their ptrace stop,
// which a frozen parent cgroup does not let them.

/** Runs `work` with the containers frozen, and thaws those still paused afterwards whatever it did. */
export async function withContainersFrozen<T>(context: RuntimeContext, ids: readonly string[], work: () => Promise<T>): Promise<T> {
  const frozen: string[] = [];
  try {
    for (const id of ids) {
      await runc.pauseContainer(context.runc, id);
      frozen.push(id);
    }
    return await work();
  } finally {
    // A dumped container that was stopped is gone; one left running is thawed here.
    for (const id of frozen) await thawIfPaused(context, id);
  }
}
