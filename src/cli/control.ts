import type { Command } from 'commander';
import type { ControlAction, ControlOptions } from '../converge/control.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// The shape that stop, start, restart, pause, unpause and kill share: the project, the named
// containers, one action (and its options: kill's signal).

export function controlCommand(program: Command, action: ControlAction, description: string, addOptions: (command: Command) => Command = (command) => command): void {
  withTargetOptions(addOptions(program
    .command(action)
    .argument('[resources...]', 'pod or pod/container (default: all)')
    .description(description)))
    .action(async (resources: string[], options: TargetOptions & ControlOptions & { timeout?: number }, command: Command) => {
      const merged = { ...command.optsWithGlobals(), ...options } as TargetOptions & ControlOptions & { timeout?: number };
      const [{ openRuntime }, { controlContainers }] = await Promise.all([import('../runtime/context.js'), import('../converge/control.js')]);
      const context = await openRuntime(await targetProjectName(merged, { command: action }));
      const say = (line: string) => process.stdout.write(`${line}\n`);
      await controlContainers(context, await selectContainers(context, resources), action, say, { signal: merged.signal, graceMs: merged.timeout });
    });
}
