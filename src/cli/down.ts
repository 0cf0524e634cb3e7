import type { Command } from 'commander';
import { withStopTimeout } from './timeout-option.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral down`: stop and remove every container and pod of the project, and all that Corral made for
// them; named volumes stay unless -v.

interface DownOptions extends TargetOptions {
  readonly volumes?: boolean;
  /** -t in ms. */
  readonly timeout?: number;
}

async function runDown(options: DownOptions): Promise<void> {
  const name = await targetProjectName(options, { command: 'down' });
  const [{ openRuntime }, { takeProjectDown }] = await Promise.all([import('../runtime/context.js'), import('../converge/teardown.js')]);
  const context = await openRuntime(name);
  await takeProjectDown(context, { removeVolumes: options.volumes, stopGraceMs: options.timeout, onProgress: (line) => process.stdout.write(`${line}\n`) });
}

export function registerDown(program: Command): void {
  withStopTimeout(withTargetOptions(program
    .command('down')
    .description('stop and remove the containers and pods of the project')))
    .option('-v, --volumes', 'also remove the named volumes')
    .action(async (options: DownOptions, command: Command) => runDown({ ...command.optsWithGlobals(), ...options }));
}
