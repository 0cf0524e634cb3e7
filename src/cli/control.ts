import type { Command } from 'commander';
import type { ControlAction, ControlOptions } from '../converge/control.js';
import type { ObservedContainer } from '../runtime/observe.js';
import type { RuntimeContext } from '../runtime/context.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// The shape that stop, start, restart, pause, unpause, kill, checkpoint and restore share: the
// project, the named containers, one action (and its options: kill's signal, checkpoint's export).

/** What the command line gave: the target, the action's own options, and the global ones (--debug). */
export type ControlCommandOptions = TargetOptions & ControlOptions & { timeout?: number } & Record<string, unknown>;

export interface ControlCommandShape {
  /** The command's own options (kill's -s, stop's -t). */
  readonly addOptions?: (command: Command) => Command;
  /**
   * Before anything is done, what the action needs beyond its options (checkpoint: that the host can;
   * restore: the project file's config hashes); it may refuse the whole command.
   */
  readonly prepare?: (context: RuntimeContext, options: ControlCommandOptions, containers: readonly ObservedContainer[]) => Promise<ControlOptions>;
}

export function controlCommand(program: Command, action: ControlAction, description: string, shape: ControlCommandShape = {}): void {
  const addOptions = shape.addOptions ?? ((command: Command) => command);
  withTargetOptions(addOptions(program
    .command(action)
    .argument('[resources...]', 'pod or pod/container (default: all)')
    .description(description)))
    .action(async (resources: string[], options: ControlCommandOptions, command: Command) => {
      const merged = { ...command.optsWithGlobals(), ...options } as ControlCommandOptions;
      const [{ openRuntime }, { controlContainers }] = await Promise.all([import('../runtime/context.js'), import('../converge/control.js')]);
      const context = await openRuntime(await targetProjectName(merged, { command: action }));
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const containers = await selectContainers(context, resources);
      const prepared = shape.prepare ? await shape.prepare(context, merged, containers) : {};
      await controlContainers(context, containers, action, say, { signal: merged.signal, graceMs: merged.timeout, ...prepared });
    });
}
