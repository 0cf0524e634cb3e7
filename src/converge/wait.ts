import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { observeProject } from '../runtime/observe.js';
import { containerId } from '../state/paths.js';
import { ranToCompletion } from '../plan/plan.js';
import { NotReadyError, waitUntilHealthy } from './readiness.js';
import { FixableError } from '../fixable-error.js';

// `up --wait`: returns once every container runs and is healthy where it has a healthcheck. A
// container that ran to completion (exit 0) and is not meant to run again counts as done.

/** Containers of the project that `up --wait` waited for in vain: each with why, and what to do. */
export class WaitFailure extends FixableError {
  override readonly name = 'WaitFailure';
  /** `pod/container is ...`, one per container, sorted. */
  readonly failures: readonly string[];
  constructor(options: { project: string; failures: readonly string[]; cause?: unknown }) {
    const hint = `see \`corral ps -p ${options.project}\` and \`corral logs -p ${options.project} POD/CONTAINER\`; fix the cause and run \`corral up\` again`;
    super(`project ${options.project}: ${options.failures.join('; ')}`, { cause: options.cause, hint });
    this.failures = options.failures;
  }
}

export async function waitForProject(context: RuntimeContext, project: Project, options: { onProgress?: (line: string) => void; pods?: ReadonlySet<string> } = {}): Promise<void> {
  const say = options.onProgress ?? (() => {});
  const observed = new Map((await observeProject(context)).containers.map((container) => [container.id, container]));
  const failures: string[] = [];
  const causes: unknown[] = [];
  await Promise.all(project.pods.filter((pod) => !options.pods || options.pods.has(pod.name)).flatMap((pod) => pod.containers.map(async (container) => {
    const resource = `${pod.name}/${container.name}`;
    const id = containerId(project.name, pod.name, container.name);
    const seen = observed.get(id);
    if (seen?.status === 'exited' && ranToCompletion(container, seen.exitCode)) return;
    if (seen?.status !== 'running' || !seen.pid) {
      failures.push(`${resource} is ${seen ? `${seen.status}${seen.exitCode === undefined ? '' : ` with exit code ${seen.exitCode}`}` : 'missing'}`);
      return;
    }
    if (!container.lifecycle.healthcheck) return;
    try {
      await waitUntilHealthy(context, container, id, seen.pid);
      say(`✔ ${resource}  healthy`);
    } catch (error) {
      if (!(error instanceof NotReadyError)) throw error;
      failures.push(`${resource} is ${error.message}`);
      causes.push(error);
    }
  })));
  if (failures.length > 0) throw new WaitFailure({ project: project.name, failures: failures.sort(), cause: causes.length === 1 ? causes[0] : causes.length > 1 ? new AggregateError(causes, 'not healthy') : undefined });
}
