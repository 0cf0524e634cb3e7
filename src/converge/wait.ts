import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { observeProject } from '../runtime/observe.js';
import { containerId } from '../state/paths.js';
import { waitUntilHealthy } from './readiness.js';

// `up --wait`: returns once every container runs and is healthy where it has a healthcheck. A
// container that ran to completion (exit 0) and is not meant to run again counts as done.

export class WaitFailure extends Error {}

export async function waitForProject(context: RuntimeContext, project: Project, options: { onProgress?: (line: string) => void; pods?: ReadonlySet<string> } = {}): Promise<void> {
  const say = options.onProgress ?? (() => {});
  const observed = new Map((await observeProject(context)).containers.map((container) => [container.id, container]));
  const failures: string[] = [];
  await Promise.all(project.pods.filter((pod) => !options.pods || options.pods.has(pod.name)).flatMap((pod) => pod.containers.map(async (container) => {
    const resource = `${pod.name}/${container.name}`;
    const id = containerId(project.name, pod.name, container.name);
    const seen = observed.get(id);
    const oneShot = container.lifecycle.restart.name === 'no' || container.lifecycle.restart.name === 'on-failure';
    if (seen?.status === 'exited' && seen.exitCode === 0 && oneShot) return;
    if (seen?.status !== 'running' || !seen.pid) {
      failures.push(`${resource} is ${seen ? `${seen.status}${seen.exitCode === undefined ? '' : ` with exit code ${seen.exitCode}`}` : 'missing'}`);
      return;
    }
    if (!container.lifecycle.healthcheck) return;
    try {
      await waitUntilHealthy(context, container, id, seen.pid);
      say(`✔ ${resource}  healthy`);
    } catch (error) {
      failures.push(`${resource} is ${(error as Error).message}`);
    }
  })));
  if (failures.length > 0) throw new WaitFailure(failures.sort().join('; '));
}
