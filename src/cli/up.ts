import type { Command } from 'commander';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral up`: make the host match the project file. With -d it returns once the containers run;
// without, it stays in the foreground streaming their output, and Ctrl-C takes the project down.

interface UpOptions extends TargetOptions {
  readonly detach?: boolean;
  readonly dryRun?: boolean;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function runUp(options: UpOptions): Promise<void> {
  const project = await loadTargetProject(options);
  const [{ openRuntime }, { reconcileProject }, { followProjectLogs }, { tearDownProject }, { withProjectLock }] = await Promise.all([
    import('../runtime/context.js'), import('../supervisor/reconcile.js'), import('../supervisor/follow.js'),
    import('../supervisor/teardown.js'), import('../state/lock.js'),
  ]);
  const context = await openRuntime(project.name);
  await reconcileProject(project, context, { dryRun: options.dryRun, onProgress: print });
  if (options.detach || options.dryRun) return;

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await followProjectLogs(context, { keepGoing: () => !stopping, onLine: print });
  print(stopping ? 'stopping…' : 'all containers exited; taking the project down');
  await withProjectLock(context.paths.lock, () => tearDownProject(context, { onProgress: print }));
}

export function registerUp(program: Command): void {
  withTargetOptions(program
    .command('up')
    .description('create and start the pods of the project file'))
    .option('-d, --detach', 'return once the containers run, leave them running')
    .option('--dry-run', 'print the plan (create, recreate, remove, ... with causes) and change nothing')
    .action(async (options: UpOptions, command: Command) => runUp({ ...command.optsWithGlobals(), ...options }));
}
