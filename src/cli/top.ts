import type { Command } from 'commander';
import { selectContainers } from './resources.js';
import { formatTable } from './table.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral top [pod | pod/container ...] [--format json]`: the processes of each running (or paused)
// container, as `docker compose top` lists them.

interface TopOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
}

function formatCpu(seconds: number): string {
  const whole = Math.floor(seconds);
  return `${String(Math.floor(whole / 3600)).padStart(2, '0')}:${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

async function runTop(resources: string[], options: TopOptions): Promise<void> {
  const [{ openRuntime }, { processesOfContainer }] = await Promise.all([import('../runtime/context.js'), import('../runtime/processes.js')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'top', acceptTheOneRunning: true }), { readOnly: true });
  const live = (await selectContainers(context, resources)).filter((container) => container.status === 'running' || container.status === 'paused');
  const listed = await Promise.all(live.map(async (container) => ({ pod: container.pod, container: container.name, processes: await processesOfContainer(context, container.pod, container.name) })));
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    return;
  }
  const blocks = listed.map(({ pod, container, processes }) => `${pod}/${container}\n${formatTable(['UID', 'PID', 'PPID', 'STATE', 'TIME', 'CMD'],
    processes.map((process) => [String(process.uid), String(process.pid), String(process.ppid), process.state, formatCpu(process.cpuSeconds), process.command]))}`);
  process.stdout.write(blocks.length > 0 ? `${blocks.join('\n\n')}\n` : 'no container is running\n');
}

export function registerTop(program: Command): void {
  withTargetOptions(program
    .command('top')
    .argument('[resources...]', 'pod or pod/container (default: all)')
    .description('list the processes of running containers'))
    .option('--format <format>', 'table or json', 'table')
    .action(async (resources: string[], options: TopOptions, command: Command) => runTop(resources, { ...command.optsWithGlobals(), ...options }));
}
