import type { Command } from 'commander';
import type { Project } from '../project/model.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral up [pods...]`: make the host match the project file. With -d it returns once the containers
// run (with --wait: once they are healthy) and leaves a detached supervisor to restart and probe them;
// without, it supervises in the foreground, streaming their output, and Ctrl-C takes the project down.

interface UpOptions extends TargetOptions {
  readonly detach?: boolean;
  readonly dryRun?: boolean;
  readonly wait?: boolean;
  readonly deps?: boolean;
  readonly tlsVerify?: string;
  readonly build?: boolean;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** The project file the options point at, with its images pulled or built (`up`, `create`, `run`). */
export async function loadProjectWithImages(options: TargetOptions & Pick<UpOptions, 'tlsVerify' | 'build'>, how: { edit?: (project: Project) => Project; progressTo?: NodeJS.WriteStream } = {}): Promise<Project> {
  const [{ resolveProjectImages }, { reporterFor }] = await Promise.all([import('../images/resolve.js'), import('../images/progress.js')]);
  const loaded = await loadTargetProject(options);
  const reporter = await reporterFor(how.progressTo ?? process.stdout);
  return resolveProjectImages(how.edit ? how.edit(loaded) : loaded, dirsFromEnvironment().state, { tlsVerify: options.tlsVerify !== 'false', rebuild: options.build, reporter });
}

export async function runUp(pods: readonly string[], options: UpOptions): Promise<void> {
  const project = await loadProjectWithImages(options);
  const [{ openRuntime }, { reconcileProject, podsInScope }, launch, { waitForProject }, { startForegroundSession, stopOnSignals }, { recordForBoot }, { ensureBootService }, { parseProfiles }] = await Promise.all([
    import('../runtime/context.js'), import('../converge/reconcile.js'), import('../supervisor/launch.js'), import('../converge/wait.js'), import('../converge/foreground.js'),
    import('../converge/boot.js'), import('../converge/boot-service.js'), import('../project/profiles.js'),
  ]);
  const context = await openRuntime(project.name);
  const noDeps = options.deps === false;
  await reconcileProject(project, context, { dryRun: options.dryRun, onProgress: print, pods, noDeps });
  if (options.dryRun) return;
  if (options.detach || options.wait) {
    // Left up: it comes back when the host boots (`corral boot`, run by the unit installed here once).
    await recordForBoot(context, project, options.profile?.length ? options.profile : parseProfiles(process.env.CORRAL_PROFILES));
    await ensureBootService(print);
    await launch.notifySupervisor(context);
    if (options.wait) await waitForProject(context, project, { onProgress: print, pods: podsInScope(project, pods, noDeps) });
    return;
  }

  const keepGoing = stopOnSignals();
  const session = await startForegroundSession(context, { onLine: print, keepGoing });
  await session.follow();
  await session.end(keepGoing() ? 'all containers exited; taking the project down' : 'stopping…');
}

export function registerUp(program: Command): void {
  withTargetOptions(program
    .command('up')
    .argument('[pods...]', 'only these pods (and the pods they depend on)')
    .description('create and start the pods of the project file'))
    .option('-d, --detach', 'return once the containers run, leave them running')
    .option('--wait', 'detach and return once every container runs and is healthy (one-shot containers that exited 0 count as done)')
    .option('--no-deps', 'with pod names: leave the pods they depend on alone')
    .option('--dry-run', 'print the plan (create, recreate, remove, ... with causes) and change nothing')
    .option('--tls-verify <bool>', 'false: pull from registries over plain HTTP or unverified TLS', 'true')
    .option('--build', 'build the images of build: again, even if built before')
    .action(async (pods: string[], options: UpOptions, command: Command) => runUp(pods, { ...command.optsWithGlobals(), ...options }));
  withTargetOptions(program
    .command('diff')
    .argument('[pods...]', 'only these pods')
    .description('print what `up` would do (same as up --dry-run)'))
    .option('--no-deps', 'with pod names: leave the pods they depend on alone')
    .action(async (pods: string[], options: UpOptions, command: Command) => runUp(pods, { ...command.optsWithGlobals(), ...options, dryRun: true }));
}
