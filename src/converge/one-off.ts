import type { Pod, Project } from '../project/model.js';
import { configHash } from '../plan/hash.js';
import { ensureProjectDirs, type RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import { observeContainer, observeProject } from '../runtime/observe.js';
import { ensurePodSandbox, removePodSandbox } from '../network/pod-sandbox.js';
import { refreshHostsFiles } from '../network/names.js';
import { syncResolver } from '../network/resolver.js';
import { existingPodSandboxes } from '../runtime/pod.js';
import { withProjectLock } from '../state/lock.js';
import { containerId } from '../state/paths.js';
import { notifySupervisor } from '../supervisor/launch.js';
import { reconcileProject } from './reconcile.js';
import { trackReadiness } from './readiness.js';
import { removeContainers } from './remove.js';

// `corral run`: what it depends on first (as `up` brings it, left to the supervisor), then its own pod
// and container, made and started under the project lock; at the end (`--rm`) all of it goes again.

export interface OneOffStart {
  readonly context: RuntimeContext;
  /** The project with the one-off pod among its pods (project/one-off.ts), images resolved. */
  readonly project: Project;
  readonly pod: Pod;
  /** Start what its container depends on first (not with --no-deps). */
  readonly dependencies: boolean;
  readonly onProgress: (line: string) => void;
  /** Between create and start (attach here: nothing the container writes is missed). */
  readonly beforeStart?: (id: string) => Promise<void>;
}

/** Brings up the pods the container depends on and waits until each dependency holds (started, healthy, completed). */
async function startDependencies(options: OneOffStart): Promise<void> {
  const { context, project, pod } = options;
  const dependsOn = pod.containers.flatMap((container) => container.lifecycle.dependsOn);
  if (dependsOn.length === 0) return;
  const pods = [...new Set(dependsOn.map((dependency) => dependency.resource.split('/')[0]!))];
  const withoutOneOff = { ...project, pods: project.pods.filter((other) => other.name !== pod.name) };
  await reconcileProject(withoutOneOff, context, { pods, onProgress: options.onProgress });
  await notifySupervisor(context);
  const readiness = trackReadiness(context, withoutOneOff, new Set(), await observeProject(context));
  await Promise.all(dependsOn.map((dependency) => readiness.reached(dependency)));
}

/** Starts the one-off container; returns its runc id. What was made is removed again when a step fails. */
export async function startOneOff(options: OneOffStart): Promise<string> {
  const { context, project, pod } = options;
  if (options.dependencies) await startDependencies(options);
  const container = pod.containers[0]!;
  const id = containerId(project.name, pod.name, container.name);
  const resource = `${pod.name}/${container.name}`;
  await withProjectLock(context.paths.lock, async () => {
    const taken = await existingPodSandboxes(context);
    if (taken.includes(pod.name)) throw new Error(`a pod named ${pod.name} exists already in project ${project.name}; choose another --name`);
    await ensureProjectDirs(context.paths);
    try {
      await ensurePodSandbox(context, pod, project);
      // Its /etc/hosts names every pod of the project, as theirs do.
      await refreshHostsFiles(context, project, [pod.name]);
      await syncResolver(context.dirs);
      await runtime.createContainer(context, { project, pod, container, id, hash: configHash(container, pod) });
      await options.beforeStart?.(id);
      await runtime.startContainer(context, id, resource);
    } catch (error) {
      await removeOneOffUnlocked(context, pod.name, id);
      throw error;
    }
  }, undefined, { purpose: 'run a one-off container' });
  return id;
}

/** Removes a one-off container and its pod, whatever state they are in; the caller holds the lock. */
async function removeOneOffUnlocked(context: RuntimeContext, podName: string, id: string): Promise<void> {
  const [, , name] = id.split('.');
  await runtime.removeContainer(context, id, `${podName}/${name}`);
  await removePodSandbox(context, podName);
  await syncResolver(context.dirs);
}

/** `--rm`: the one-off container and its pod go, with the anonymous volumes its image gave it. */
export async function removeOneOff(context: RuntimeContext, id: string): Promise<void> {
  await removeContainers(context, [await observeContainer(context, id)], { stop: true, anonymousVolumes: true });
}
