import type { RuntimeContext } from '../runtime/context.js';
import { observeProject, type ObservedContainer } from '../runtime/observe.js';
import { UsageError } from './errors.js';

// Which containers a command names: none means all, `web` every container of pod web, `web/app` one.

/** `web` alone means every container of pod web; an unknown name is kept so it can be reported. */
function expandResources(resources: readonly string[], known: readonly string[]): string[] {
  return resources.flatMap((resource) => {
    if (resource.includes('/')) return [resource];
    const ofPod = known.filter((name) => name.startsWith(`${resource}/`));
    return ofPod.length > 0 ? ofPod : [resource];
  });
}

/** The observed containers the arguments name (all when none); a UsageError names the unknown ones. */
export async function selectContainers(context: RuntimeContext, resources: readonly string[]): Promise<ObservedContainer[]> {
  const observed = (await observeProject(context)).containers;
  const byResource = new Map(observed.map((container) => [`${container.pod}/${container.name}`, container]));
  if (resources.length === 0) return [...observed];
  const wanted = expandResources(resources, [...byResource.keys()]);
  const unknown = wanted.filter((resource) => !byResource.has(resource));
  if (unknown.length > 0) {
    throw new UsageError(`no container ${unknown.join(', ')} in project ${context.project}`, `choose from: ${[...byResource.keys()].join(', ') || 'none exists'}`);
  }
  return [...new Set(wanted)].map((resource) => byResource.get(resource)!);
}

/** The one container `resource` names, for commands that act on one (`exec`, `cp`): a pod of one container may be named alone. */
export async function selectOneContainer(context: RuntimeContext, resource: string, how: { command: string; suffix?: string }): Promise<ObservedContainer> {
  const selected = await selectContainers(context, [resource]);
  if (selected.length > 1) {
    throw new UsageError(`${how.command} needs one container, and pod ${resource} has ${selected.length}`, `name one: ${selected.map((one) => `${one.pod}/${one.name}${how.suffix ?? ''}`).join(', ')}`);
  }
  return selected[0]!;
}
