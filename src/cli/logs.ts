import type { Command } from 'commander';
import { openRuntime } from '../runtime/context.js';
import { observeProject } from '../runtime/observe.js';
import { followProjectLogs } from '../supervisor/follow.js';
import { UsageError } from './errors.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral logs [-f] [pod/container ...]`: the output conmon recorded, whole lines, with -f as it comes.

interface LogsOptions extends TargetOptions {
  readonly follow?: boolean;
}

/** `web` alone means every container of pod web; an unknown name is kept so it can be reported. */
function expandResources(resources: readonly string[], known: readonly string[]): string[] {
  return resources.flatMap((resource) => {
    if (resource.includes('/')) return [resource];
    const ofPod = known.filter((name) => name.startsWith(`${resource}/`));
    return ofPod.length > 0 ? ofPod : [resource];
  });
}

async function runLogs(resources: string[], options: LogsOptions): Promise<void> {
  const context = await openRuntime(await targetProjectName(options), { readOnly: true });
  const known = (await observeProject(context)).containers.map((container) => `${container.pod}/${container.name}`);
  const wanted = expandResources(resources, known);
  const unknown = wanted.filter((resource) => !known.includes(resource));
  if (unknown.length > 0) {
    throw new UsageError(`no container ${unknown.join(', ')} in project ${context.project}`, `choose from: ${known.join(', ') || 'none is running'}`);
  }
  let interrupted = false;
  process.once('SIGINT', () => (interrupted = true));
  await followProjectLogs(context, {
    only: wanted,
    follow: options.follow ?? false,
    keepGoing: () => !interrupted,
    onLine: (line) => process.stdout.write(`${line}\n`),
    prefix: wanted.length !== 1,
  });
}

export function registerLogs(program: Command): void {
  withTargetOptions(program
    .command('logs')
    .description('show the output of containers (all, a pod, or pod/container)'), { shortFile: false })
    .argument('[resources...]', 'pod or pod/container')
    .option('-f, --follow', 'keep printing new output until the containers exit')
    .action(async (resources: string[], options: LogsOptions, command: Command) => runLogs(resources, { ...command.optsWithGlobals(), ...options }));
}
