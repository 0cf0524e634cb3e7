import type { Command } from 'commander';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral watch`: like `up` in the foreground, and the project follows the file within a second.

async function runWatchCommand(options: TargetOptions): Promise<void> {
  const [{ openRuntime }, { runWatch }, { resolveProjectImages }, { watchOutput }, { stopOnSignals }] = await Promise.all([
    import('../runtime/context.js'), import('../watch/watch.js'), import('../images/resolve.js'), import('../watch/status-line.js'), import('../converge/foreground.js'),
  ]);
  const output = watchOutput(process.stdout);
  const loaded = await loadTargetProject(options);
  const context = await openRuntime(loaded.name);
  // Every reload reads the file as this first load did: same -f, -p and --profile.
  const load = async () => resolveProjectImages(await loadTargetProject(options), context.dirs.state, { onProgress: output.line });
  const project = await resolveProjectImages(loaded, context.dirs.state, { onProgress: output.line });
  const keepGoing = stopOnSignals();
  await runWatch(context, project, { load, keepGoing, onLine: output.line, onStatus: output.status });
  if (process.stdout.isTTY) process.stdout.write('\n');
}

export function registerWatch(program: Command): void {
  withTargetOptions(program
    .command('watch')
    .description('run the project in the foreground and re-apply it whenever the project file or its env files change'))
    .action(async (options: TargetOptions, command: Command) => runWatchCommand({ ...command.optsWithGlobals(), ...options }));
}
