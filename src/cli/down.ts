import { type Command, InvalidArgumentError } from 'commander';
import { withStopTimeout } from './timeout-option.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral down`: stop and remove every container and pod of the project, and all that Corral made for
// them; named volumes stay unless -v, images unless --rmi.

interface DownOptions extends TargetOptions {
  readonly volumes?: boolean;
  /** --rmi: all images of the project's containers, or only those built here (compose: "local"). */
  readonly rmi?: 'all' | 'local';
  readonly removeOrphans?: boolean;
  /** -t in ms. */
  readonly timeout?: number;
}

async function runDown(options: DownOptions): Promise<void> {
  const name = await targetProjectName(options, { command: 'down' });
  const [{ openRuntime }, { stopSupervisor }] = await Promise.all([import('../runtime/context.js'), import('../supervisor/launch.js')]);
  const context = await openRuntime(name);
  // The supervisor goes first (takeProjectDown); it winds down while the teardown's modules load.
  const supervisorStopped = stopSupervisor(context);
  // Seen by takeProjectDown; marked handled only so that it is not reported before that.
  supervisorStopped.catch(() => {});
  const { takeProjectDown } = await import('../converge/teardown.js');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // What ran, read before the down removes the record of it.
  const images = options.rmi ? await projectImages(context.paths.applied, options.rmi) : [];
  await takeProjectDown(context, { removeVolumes: options.volumes, stopGraceMs: options.timeout, onProgress: say, supervisorStopped });
  if (images.length > 0) {
    const [{ removeImagesNoOneUses }, { dirsFromEnvironment }] = await Promise.all([import('../images/remove.js'), import('../state/paths.js')]);
    const removal = await removeImagesNoOneUses(dirsFromEnvironment(), images);
    for (const ref of removal.images) say(`✔ image ${ref}  removed`);
    for (const { ref, users } of removal.kept) say(`image ${ref} kept: ${users.join(', ')} use it`);
  }
}

/** The image references of the applied project's containers (`local`: only those it builds). */
async function projectImages(appliedFile: string, which: 'all' | 'local'): Promise<string[]> {
  const { readAppliedProject } = await import('../project/applied-project.js');
  const applied = await readAppliedProject(appliedFile);
  const images = (applied?.pods ?? []).flatMap((pod) => pod.containers.map((container) => container.image)).filter((image) => image && (which === 'all' || image.build));
  return [...new Set(images.map((image) => image!.ref))];
}

function rmiChoice(value: string): 'all' | 'local' {
  if (value !== 'all' && value !== 'local') throw new InvalidArgumentError('give all (every image of the project) or local (those it builds)');
  return value;
}

export function registerDown(program: Command): void {
  withStopTimeout(withTargetOptions(program
    .command('down')
    .description('stop and remove the containers and pods of the project')))
    .option('-v, --volumes', 'also remove the named volumes')
    .option('--rmi <which>', 'also remove images no other container uses: all (the project\'s) or local (those it builds)', rmiChoice)
    .option('--remove-orphans', 'accepted for compose\'s sake: down removes every container of the project, one-offs too')
    .action(async (options: DownOptions, command: Command) => runDown({ ...command.optsWithGlobals(), ...options }));
}
