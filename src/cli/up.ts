import type { Command } from 'commander';
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

export async function runUp(pods: readonly string[], options: UpOptions): Promise<void> {
  const [{ resolveProjectImages }, { reporterFor }] = await Promise.all([import('../images/resolve.js'), import('../images/progress.js')]);
  const project = await resolveProjectImages(await loadTargetProject(options), dirsFromEnvironment().state, { tlsVerify: options.tlsVerify !== 'false', rebuild: options.build, reporter: await reporterFor(process.stdout) });
  const [{ openRuntime }, { reconcileProject, podsInScope }, { followProjectLogs }, { tearDownProject }, { withProjectLock }, launch, { startSupervisor }, { waitForProject }] = await Promise.all([
    import('../runtime/context.js'), import('../converge/reconcile.js'), import('../runtime/follow-logs.js'),
    import('../converge/teardown.js'), import('../state/lock.js'), import('../supervisor/launch.js'),
    import('../supervisor/supervisor.js'), import('../converge/wait.js'),
  ]);
  const context = await openRuntime(project.name);
  const noDeps = options.deps === false;
  await reconcileProject(project, context, { dryRun: options.dryRun, onProgress: print, pods, noDeps });
  if (options.dryRun) return;
  if (options.detach || options.wait) {
    await launch.notifySupervisor(context);
    if (options.wait) await waitForProject(context, project, { onProgress: print, pods: podsInScope(project, pods, noDeps) });
    return;
  }

  // The foreground takes over supervision from a detached supervisor, if one runs.
  await launch.shutdownSupervisor(context);
  const supervisor = await startSupervisor(context, { onLine: print });
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  // `on`, not `once`: execa's signal-exit re-raises a signal that no other listener handles, and a
  // `once` listener is gone by the time it looks.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await followProjectLogs(context, { keepGoing: () => !stopping, willRestart: (resource) => supervisor.willRestart(resource), onLine: print });
  print(stopping ? 'stopping…' : 'all containers exited; taking the project down');
  await supervisor.stop();
  await withProjectLock(context.paths.lock, () => tearDownProject(context, { onProgress: print }));
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
