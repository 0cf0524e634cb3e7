import type { Command } from 'commander';
import { openRuntime } from '../runtime/context.js';
import { followProjectLogs } from '../runtime/follow-logs.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral logs [-f] [pod/container ...]`: the output conmon recorded, whole lines, with -f as it comes.

interface LogsOptions extends TargetOptions {
  readonly follow?: boolean;
}

async function runLogs(resources: string[], options: LogsOptions): Promise<void> {
  const context = await openRuntime(await targetProjectName(options, { command: 'logs', acceptTheOneRunning: true }), { readOnly: true });
  const wanted = (await selectContainers(context, resources)).map((container) => `${container.pod}/${container.name}`);
  let interrupted = false;
  process.on('SIGINT', () => (interrupted = true));
  await followProjectLogs(context, {
    only: wanted,
    follow: options.follow ?? false,
    keepGoing: () => !interrupted,
    onLine: (line) => process.stdout.write(`${line}\n`),
    prefix: resources.length === 0 || wanted.length !== 1,
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
