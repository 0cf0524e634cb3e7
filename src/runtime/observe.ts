import { access, readdir } from 'node:fs/promises';
import type { ObservedStatus } from '../../machines/container.js';
import type { RuntimeContext } from './context.js';
import { readExitCode } from './conmon.js';
import * as runc from './runc.js';
import { existingPodSandboxes } from './pod.js';

// What exists, read from the runtime and the files conmon writes, never from memory: the same answer
// whether the last Corral process finished cleanly or was killed halfway.

export interface ObservedContainer {
  readonly id: string;
  readonly pod: string;
  readonly name: string;
  readonly status: Exclude<ObservedStatus, 'absent'>;
  /** Config hash recorded when it was created. */
  readonly hash?: string;
  readonly pid?: number;
  readonly exitCode?: number;
  /** When the runtime created it (ISO 8601). */
  readonly created?: string;
}

export interface ObservedProject {
  /** Sorted by id. */
  readonly containers: readonly ObservedContainer[];
  /** Pods with a sandbox on the host, sorted. */
  readonly pods: readonly string[];
}

function splitId(id: string): { pod: string; name: string } {
  const [, pod = '', name = ''] = id.split('.');
  return { pod, name };
}

async function bundleIds(context: RuntimeContext): Promise<string[]> {
  try {
    await access(context.paths.containersRun);
    return await readdir(context.paths.containersRun);
  } catch {
    return [];
  }
}

/** One container's observed state; a bundle without runtime state (a crash during create) counts as exited. */
export async function observeContainer(context: RuntimeContext, id: string): Promise<ObservedContainer> {
  const { pod, name } = splitId(id);
  const state = await runc.containerState(context.runc, id);
  const exitCode = await readExitCode(context.paths.exits, id);
  if (!state) return { id, pod, name, status: 'exited', exitCode };
  const hash = state.annotations?.['corral.hash'];
  if (state.status === 'stopped' || exitCode !== undefined) return { id, pod, name, status: 'exited', hash, exitCode, created: state.created };
  const status = state.status === 'created' || state.status === 'creating' ? 'created' : 'running';
  return { id, pod, name, status, hash, pid: state.pid, created: state.created };
}

/** Every container and pod sandbox of the project that exists on the host. */
export async function observeProject(context: RuntimeContext): Promise<ObservedProject> {
  const listed = (await runc.listContainers(context.runc)).map((state) => state.id);
  const ids = [...new Set([...listed, ...(await bundleIds(context))])].sort();
  const containers = await Promise.all(ids.map((id) => observeContainer(context, id)));
  return { containers, pods: await existingPodSandboxes(context) };
}
