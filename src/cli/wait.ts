import type { Command } from 'commander';
import { setExplainedExitCode } from './errors.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral wait pod|pod/container ...`, as docker compose's: blocks until the containers exit, prints
// their exit codes one per line in the order named, and exits with the first one's.

async function runWait(resources: readonly string[], options: TargetOptions): Promise<void> {
  const [{ openRuntime }, { waitForExitCodes }] = await Promise.all([import('../runtime/context.js'), import('../converge/exits.js')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'wait', acceptTheOneRunning: true }), { readOnly: true });
  const codes = await waitForExitCodes(context, await selectContainers(context, resources));
  process.stdout.write(codes.map((code) => `${code}\n`).join(''));
  setExplainedExitCode(codes[0] ?? 0);
}

export function registerWait(program: Command): void {
  withTargetOptions(program
    .command('wait')
    .argument('<resources...>', 'pod or pod/container')
    .description('wait until the containers exit; print their exit codes and exit with the first one\'s'))
    .action(async (resources: string[], options: TargetOptions, command: Command) => runWait(resources, { ...command.optsWithGlobals(), ...options }));
}
