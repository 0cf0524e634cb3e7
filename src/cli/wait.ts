import type { Command } from 'commander';
import { setExplainedExitCode } from './errors.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral wait pod|pod/container ...`, as docker compose's: blocks until the containers exit, prints
// their exit codes one per line in the order named, and exits with the first one's. With
// --down-project: once the first of them exits, its code is printed and the project taken down.

interface WaitOptions extends TargetOptions {
  readonly downProject?: boolean;
}

async function runWait(resources: readonly string[], options: WaitOptions): Promise<void> {
  const [{ openRuntime }, { waitForExitCode, waitForExitCodes }] = await Promise.all([import('../runtime/context.js'), import('../converge/exits.js')]);
  // Waiting changes nothing, and may wait on the one project running; taking one down never guesses.
  const name = await targetProjectName(options, { command: 'wait', acceptTheOneRunning: !options.downProject });
  const context = await openRuntime(name, { readOnly: !options.downProject });
  const containers = await selectContainers(context, resources);
  if (!options.downProject) {
    const codes = await waitForExitCodes(context, containers);
    process.stdout.write(codes.map((code) => `${code}\n`).join(''));
    setExplainedExitCode(codes[0] ?? 0);
    return;
  }
  const first = await Promise.race(containers.map((container) => waitForExitCode(context, container)));
  process.stdout.write(`${first}\n`);
  const { takeProjectDown } = await import('../converge/teardown.js');
  await takeProjectDown(context, { onProgress: (line) => process.stderr.write(`${line}\n`) });
  setExplainedExitCode(first);
}

export function registerWait(program: Command): void {
  withTargetOptions(program
    .command('wait')
    .argument('<resources...>', 'pod or pod/container')
    .description('wait until the containers exit; print their exit codes and exit with the first one\'s'))
    .option('--down-project', 'take the project down once the first of them exits (and print its code)')
    .action(async (resources: string[], options: WaitOptions, command: Command) => runWait(resources, { ...command.optsWithGlobals(), ...options }));
}
