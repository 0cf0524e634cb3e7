import type { Command } from 'commander';
import { loadTargetProject, projectFile, type TargetOptions, withTargetOptions } from './target.js';

// `corral watch`: like `up` in the foreground, and the project follows the file within a second.

async function runWatchCommand(options: TargetOptions): Promise<void> {
  const [{ openRuntime }, { runWatch }, { resolveProjectImages }] = await Promise.all([import('../runtime/context.js'), import('../watch/watch.js'), import('../images/resolve.js')]);
  const loaded = await loadTargetProject(options);
  const context = await openRuntime(loaded.name);
  const project = await resolveProjectImages(loaded, context.dirs.state, { onProgress: (line) => process.stdout.write(`${line}\n`) });
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const tty = process.stdout.isTTY;
  await runWatch(context, project, {
    file: (await projectFile(options))!,
    projectName: options.projectName,
    keepGoing: () => !stopping,
    onLine: (line) => process.stdout.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`),
    onStatus: (line) => process.stdout.write(tty ? `\r\x1b[K[watch] ${line}` : `[watch] ${line}\n`),
  });
}

export function registerWatch(program: Command): void {
  withTargetOptions(program
    .command('watch')
    .description('run the project in the foreground and re-apply it whenever the project file or its env files change'))
    .action(async (options: TargetOptions, command: Command) => runWatchCommand({ ...command.optsWithGlobals(), ...options }));
}
