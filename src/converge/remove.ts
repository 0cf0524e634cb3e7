import { rm } from 'node:fs/promises';
import path from 'node:path';
import { FixableError } from '../fixable-error.js';
import { syncResolver } from '../network/resolver.js';
import { removePodSandbox } from '../network/pod-sandbox.js';
import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import { observeContainer, observeProject, type ObservedContainer } from '../runtime/observe.js';
import { withProjectLock } from '../state/lock.js';
import { namesInDir } from '../state/read.js';
import { readStoppedSet, writeStoppedSet } from '../state/snapshots.js';
import { CONTAINER_CONCURRENCY, runWithConcurrency } from './concurrency.js';

// `corral rm` and the end of `run --rm`: containers that have stopped go, with their runtime state,
// root, bundle and log; a pod whose last container went loses its sandbox too (the next `up` makes it
// again). A running one goes only when asked to stop it first, as docker compose's `rm -s`.

export interface RemoveOptions {
  /** Stop running containers first (with their stop signal and grace period) instead of refusing them. */
  readonly stop?: boolean;
  /** Also the anonymous volumes the containers' images gave them (VOLUME paths). */
  readonly anonymousVolumes?: boolean;
  readonly onProgress?: (line: string) => void;
}

const isLive = (container: ObservedContainer) => container.status === 'running' || container.status === 'paused';
const resourceOf = (container: ObservedContainer) => `${container.pod}/${container.name}`;

/**
 * The volumes an image's VOLUME paths gave one container: named `<pod>.<container>.<hash>`
 * (images/config.ts), where the file's own volume names can have no dot.
 */
async function anonymousVolumesOf(context: RuntimeContext, container: ObservedContainer): Promise<string[]> {
  const prefix = `${container.pod}.${container.name}.`;
  return (await namesInDir(context.paths.volumes)).filter((name) => name.startsWith(prefix));
}

/** A running container named for removal without -s: the user's to fix (exit code 1, as a usage error). */
export class RemoveRefusedError extends FixableError {
  readonly invalidInput = true;
}

/** Refuses, before anything changes, when a container to remove still runs and stopping it was not asked. */
function refuseLive(containers: readonly ObservedContainer[]): void {
  const live = containers.filter(isLive);
  if (live.length === 0) return;
  const names = live.map(resourceOf).join(', ');
  throw new RemoveRefusedError(`cannot remove ${names}: ${live.length === 1 ? 'it is' : 'they are'} ${live.map((container) => container.status).join(', ')}`,
    { hint: `stop ${live.length === 1 ? 'it' : 'them'} first (corral stop ${names}), or remove with -s to stop and remove` });
}

/** Removes the containers (under the project lock, each seen again there) and the pod sandboxes left empty. */
export async function removeContainers(context: RuntimeContext, containers: readonly ObservedContainer[], options: RemoveOptions = {}): Promise<void> {
  const say = options.onProgress ?? (() => {});
  await withProjectLock(context.paths.lock, async () => {
    const now = await Promise.all(containers.map((container) => observeContainer(context, container.id)));
    if (!options.stop) refuseLive(now);
    await runWithConcurrency(now, CONTAINER_CONCURRENCY, async (container) => {
      if (isLive(container)) {
        await runtime.stopContainer(context, container.id);
        say(`✔ ${resourceOf(container)}  stopped`);
      }
      await runtime.removeContainer(context, container.id, resourceOf(container));
      if (options.anonymousVolumes) {
        for (const volume of await anonymousVolumesOf(context, container)) await rm(path.dirname(context.paths.volume(volume)), { recursive: true, force: true });
      }
      say(`✔ ${resourceOf(container)}  removed`);
    });
    // A removed container is no longer the user's to keep stopped: the next `up` just makes it anew.
    const stopped = await readStoppedSet(context.paths.stopped);
    const forgotten = now.map(resourceOf).filter((resource) => stopped.delete(resource));
    if (forgotten.length > 0) await writeStoppedSet(context.paths.stopped, stopped);
    const left = await observeProject(context);
    const emptied = [...new Set(now.map((container) => container.pod))].filter((pod) => left.pods.includes(pod) && !left.containers.some((container) => container.pod === pod));
    await runWithConcurrency(emptied, CONTAINER_CONCURRENCY, async (pod) => {
      await removePodSandbox(context, pod);
      say(`✔ ${pod}  pod removed`);
    });
    if (emptied.length > 0) await syncResolver(context.dirs);
  }, undefined, { purpose: 'remove containers' });
}
