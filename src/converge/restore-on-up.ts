import type { Project } from '../project/model.js';
import { configHash } from '../plan/hash.js';
import type { RuntimeContext } from '../runtime/context.js';
import { readCheckpointRecord } from '../runtime/checkpoint.js';
import { observeProject, type ObservedContainer } from '../runtime/observe.js';
import { controlContainers } from './control.js';

// `up --restore`: a container that is stopped and has a checkpoint of the configuration the file
// describes now (the same config hash) starts from it, with its memory, instead of cold; a slow-to-warm
// service comes back in the time of a restore. The rest of `up` follows as usual: what runs and
// matches is left alone, what has no matching checkpoint is started (or made) cold.

/** The stopped containers in scope whose checkpoint matches the file's configuration, with those hashes. */
export async function restorableOnUp(context: RuntimeContext, project: Project, scope: ReadonlySet<string> | undefined): Promise<{ containers: ObservedContainer[]; desiredHashes: Map<string, string> }> {
  const desiredHashes = new Map(project.pods.filter((pod) => !scope || scope.has(pod.name)).flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, configHash(container, pod)] as const)));
  const stopped = (await observeProject(context)).containers.filter((container) => (container.status === 'exited' || container.status === 'created') && desiredHashes.get(`${container.pod}/${container.name}`) === container.hash);
  const records = await Promise.all(stopped.map((container) => readCheckpointRecord(context, container.id)));
  return { containers: stopped.filter((container, index) => records[index]?.hash === container.hash), desiredHashes };
}

/** Restores those containers; one whose restore fails is said and left to the rest of `up`, which starts it cold. */
export async function restoreOnUp(context: RuntimeContext, project: Project, options: { scope: ReadonlySet<string> | undefined; say: (line: string) => void }): Promise<void> {
  const { containers, desiredHashes } = await restorableOnUp(context, project, options.scope);
  if (containers.length === 0) return;
  await controlContainers(context, containers, 'restore', options.say, { desiredHashes, project, failuresSaid: 'started cold' });
}
