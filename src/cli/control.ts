import type { Command } from 'commander';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// The shape that stop, start and restart share: the project, the named containers, one action.

export function controlCommand(program: Command, action: 'stop' | 'start' | 'restart', description: string): void {
  withTargetOptions(program
    .command(action)
    .argument('[resources...]', 'pod or pod/container (default: all)')
    .description(description))
    .action(async (resources: string[], options: TargetOptions, command: Command) => {
      const merged = { ...command.optsWithGlobals(), ...options } as TargetOptions;
      const [{ openRuntime }, { controlContainers }] = await Promise.all([import('../runtime/context.js'), import('../converge/control.js')]);
      const context = await openRuntime(await targetProjectName(merged, { command: action }));
      await controlContainers(context, await selectContainers(context, resources), action, (line) => process.stdout.write(`${line}\n`));
    });
}
