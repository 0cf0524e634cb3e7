import type { Command } from 'commander';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral rm [-s] [-f] [-v] [pod | pod/container ...]`, as docker compose's: removes stopped
// containers (with none named: every stopped one of the project); a running one named is refused
// unless -s stops it first. Corral never asks before it removes, so -f is accepted and changes nothing
// (-f here is --force, as in compose: the file is --file, or -f before `rm`).

interface RmOptions extends TargetOptions {
  readonly stop?: boolean;
  readonly force?: boolean;
  readonly volumes?: boolean;
}

async function runRm(resources: readonly string[], options: RmOptions): Promise<void> {
  const [{ openRuntime }, { removeContainers }] = await Promise.all([import('../runtime/context.js'), import('../converge/remove.js')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'rm' }));
  const selected = await selectContainers(context, resources);
  // As compose: with no names, what runs is left alone (unless -s), not refused.
  const chosen = resources.length > 0 || options.stop ? selected : selected.filter((container) => container.status === 'exited' || container.status === 'created');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (chosen.length === 0) say('no stopped containers');
  else await removeContainers(context, chosen, { stop: options.stop, anonymousVolumes: options.volumes, onProgress: say });
}

export function registerRm(program: Command): void {
  withTargetOptions(program
    .command('rm')
    .argument('[resources...]', 'pod or pod/container (default: every stopped container)')
    .description('remove stopped containers (and the sandbox of a pod left empty)'), { shortFile: false })
    .option('-s, --stop', 'stop running containers first, then remove them')
    .option('-f, --force', 'do not ask (Corral never asks; accepted as docker compose takes it)')
    .option('-v, --volumes', 'also remove the anonymous volumes of the containers (their images\' VOLUME paths)')
    .action(async (resources: string[], options: RmOptions, command: Command) => runRm(resources, { ...command.optsWithGlobals(), ...options }));
}
