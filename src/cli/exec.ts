import type { Command } from 'commander';
import { setExplainedExitCode, UsageError } from './errors.js';
import { selectOneContainer } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral exec [-t] pod/container -- cmd args...`: a command inside a running container (runc exec),
// with the container's environment, user and working dir; exits with the command's exit code. A pod
// of one container (a compose service) may be named alone: `corral exec web -- sh`.

interface ExecOptions extends TargetOptions {
  readonly tty?: boolean;
}

async function runExec(resource: string, argv: string[], options: ExecOptions): Promise<void> {
  const [{ openRuntime }, { execa }] = await Promise.all([import('../runtime/context.js'), import('execa')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'exec' }), { readOnly: true });
  const container = await selectOneContainer(context, resource, { command: 'exec' });
  if (container.status !== 'running') throw new UsageError(`${resource} is ${container.status}`, 'start it first: corral start ' + resource);
  if (argv[0] === '--') argv = argv.slice(1);
  if (argv.length === 0) throw new UsageError('no command given', `add it after --, e.g. corral exec ${resource} -- sh`);
  const tty = options.tty ?? (process.stdin.isTTY && process.stdout.isTTY);
  const result = await execa(context.runc.binary, ['--root', context.runc.root, 'exec', ...(tty ? ['--tty'] : []), container.id, ...argv], { stdio: 'inherit', reject: false });
  setExplainedExitCode(result.exitCode ?? 1);
}

export function registerExec(program: Command): void {
  withTargetOptions(program
    .command('exec')
    .argument('<container>', 'pod/container')
    .argument('[command...]', 'the command and its arguments (after --)')
    .description('run a command inside a running container'))
    .option('-t, --tty', 'allocate a terminal (default: when stdin and stdout are terminals)')
    .option('-T, --no-tty', 'no terminal')
    .passThroughOptions()
    .action(async (resource: string, argv: string[], options: ExecOptions, command: Command) => runExec(resource, argv, { ...command.optsWithGlobals(), ...options }));
}
