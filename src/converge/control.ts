import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import type { ObservedContainer } from '../runtime/observe.js';
import { withProjectLock } from '../state/lock.js';
import { readStoppedSet, writeStoppedSet } from '../state/snapshots.js';
import { CONTAINER_CONCURRENCY, runWithConcurrency } from './concurrency.js';
import { notifySupervisor } from '../supervisor/launch.js';

// `stop`, `start` and `restart` of containers that exist: under the project lock, with the user's
// wish recorded first (a stopped container is one no restart policy brings back), then the
// supervisor told to follow.

export type ControlAction = 'stop' | 'start' | 'restart';

const DONE_WORDS: Record<ControlAction, string> = { stop: 'stopped', start: 'started', restart: 'restarted' };

export async function controlContainers(context: RuntimeContext, containers: readonly ObservedContainer[], action: ControlAction, say: (line: string) => void): Promise<void> {
  const failures: string[] = [];
  await withProjectLock(context.paths.lock, async () => {
    const stopped = await readStoppedSet(context.paths.stopped);
    for (const container of containers) {
      const resource = `${container.pod}/${container.name}`;
      if (action === 'stop') stopped.add(resource);
      else stopped.delete(resource);
    }
    await writeStoppedSet(context.paths.stopped, stopped);
    await runWithConcurrency(containers, CONTAINER_CONCURRENCY, async (container) => {
      const resource = `${container.pod}/${container.name}`;
      try {
        if (action === 'stop') {
          if (container.status !== 'exited') await runtime.stopContainer(context, container.id);
        } else if (action === 'restart' || container.status === 'exited') {
          await runtime.restartContainer(context, container.id, resource);
        } else if (container.status === 'created') {
          await runtime.startContainer(context, container.id, resource);
        }
        say(`✔ ${resource}  ${DONE_WORDS[action]}`);
      } catch (error) {
        failures.push(`${resource}: ${(error as Error).message}`);
        say(`✘ ${resource}  ${(error as Error).message}`);
      }
    });
  });
  await notifySupervisor(context);
  if (failures.length > 0) throw new Error(`${action} failed for ${failures.join('; ')}`);
}
