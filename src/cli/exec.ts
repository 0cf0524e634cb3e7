import type { Command } from 'commander';
import { repeatable } from './repeatable.js';
import { setExplainedExitCode, UsageError } from './errors.js';
import { selectOneContainer } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral exec [-t|-T] [-u USER] [-e K=V] [-w DIR] [-d] [--privileged] pod/container -- cmd args...`:
// a command inside a running container (runc exec), with the container's environment, user and
// working dir unless the flags say otherwise; exits with the command's exit code. A pod of one
// container (a compose service) may be named alone: `corral exec web -- sh`.

interface ExecOptions extends TargetOptions {
  readonly tty?: boolean;
  readonly user?: string;
  readonly env?: readonly string[];
  readonly workdir?: string;
  readonly detach?: boolean;
  readonly privileged?: boolean;
}


/** runc exec's flags for the options; a user name is looked up in the container's own /etc/passwd. */
async function runcExecFlags(options: ExecOptions & { tty: boolean; rootfs: string; boundingCapabilities: readonly string[] }): Promise<string[]> {
  const flags: string[] = options.tty ? ['--tty'] : [];
  if (options.user !== undefined) {
    const { resolveUser, UnknownUserError } = await import('../runtime/users.js');
    const user = await resolveUser(options.rootfs, options.user).catch((error: Error) => {
      if (error instanceof UnknownUserError) throw new UsageError(`exec -u ${options.user}: ${error.message}`, 'the image\'s users and groups are in its /etc/passwd and /etc/group');
      throw error;
    });
    flags.push('--user', `${user.uid}:${user.gid}`, ...user.additionalGids.flatMap((gid) => ['--additional-gids', String(gid)]), '--env', `HOME=${user.home}`);
  }
  for (const variable of options.env ?? []) {
    if (!/^[^=\s]+=/.test(variable)) throw new UsageError(`-e ${variable}: not NAME=VALUE`, 'write it as -e NAME=VALUE');
    flags.push('--env', variable);
  }
  if (options.workdir !== undefined) flags.push('--cwd', options.workdir);
  if (options.detach) flags.push('--detach');
  // As docker exec --privileged: every capability Corral may hand on (a host can withhold some from
  // its own bounding set, and runc then fails with EPERM); the container's seccomp filter stays.
  if (options.privileged) flags.push(...options.boundingCapabilities.flatMap((capability) => ['--cap', capability]));
  return flags;
}

async function runExec(resource: string, argv: string[], options: ExecOptions): Promise<void> {
  const [{ openRuntime }, { execa }] = await Promise.all([import('../runtime/context.js'), import('execa')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'exec' }), { readOnly: true });
  const container = await selectOneContainer(context, resource, { command: 'exec' });
  if (container.status !== 'running') throw new UsageError(`${resource} is ${container.status}`, 'start it first: corral start ' + resource);
  if (argv[0] === '--') argv = argv.slice(1);
  if (argv.length === 0) throw new UsageError('no command given', `add it after --, e.g. corral exec ${resource} -- sh`);
  // runc would say only `open /dev/tty: no such device or address` and exit 255.
  if (options.tty === true && !process.stdin.isTTY) throw new UsageError('exec -t needs a terminal, and stdin is not one', 'run it from a terminal, or leave out -t (or pass -T) to run without one');
  if (options.tty === true && options.detach) throw new UsageError('exec -t and -d do not go together', 'a detached command has no terminal: leave out -t');
  const tty = options.tty ?? (!options.detach && Boolean(process.stdin.isTTY && process.stdout.isTTY));
  const flags = await runcExecFlags({ ...options, tty, rootfs: context.paths.container(container.id).rootfs, boundingCapabilities: context.boundingCapabilities });
  const runcArgs = ['exec', ...flags, container.id, ...argv];
  if (options.detach) return execDetached(context.runc, runcArgs);
  const result = await execa(context.runc.binary, ['--root', context.runc.root, ...runcArgs], { stdio: 'inherit', reject: false });
  setExplainedExitCode(result.exitCode ?? 1);
}

/** The text of one line of runc's JSON log (`{"level":"error","msg":...}`), or the line as it is. */
function messageOfLogLine(line: string): string {
  try {
    const record = JSON.parse(line) as { msg?: unknown };
    return typeof record.msg === 'string' ? record.msg : line;
  } catch (error) {
    if (error instanceof SyntaxError) return line;
    throw error;
  }
}

/**
 * `exec -d`: the command gets no stdio of ours, as with docker exec -d. A pipe handed to it would keep
 * whoever reads our output (`| tee`, a test) waiting until the command ends; runc's own error goes to
 * a log file instead, read when runc fails.
 */
async function execDetached(runc: { binary: string; root: string }, runcArgs: readonly string[]): Promise<void> {
  const [{ execa }, { mkdtemp, readFile, rm }, { tmpdir }, path, { whenMissing }] = await Promise.all([import('execa'), import('node:fs/promises'), import('node:os'), import('node:path'), import('../state/read.js')]);
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-exec-'));
  try {
    const log = path.join(dir, 'runc.log');
    const result = await execa(runc.binary, ['--root', runc.root, '--log', log, '--log-format', 'json', ...runcArgs], { stdio: 'ignore', reject: false });
    if (result.exitCode !== 0) {
      const said = (await readFile(log, 'utf8').catch(whenMissing(''))).split('\n').filter(Boolean).map(messageOfLogLine).join('; ');
      throw new UsageError(`exec -d: the command did not start: ${said || `runc exited ${result.exitCode}`}`, 'run it without -d to see its output');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function registerExec(program: Command): void {
  withTargetOptions(program
    .command('exec')
    .argument('<container>', 'pod/container')
    .argument('[command...]', 'the command and its arguments (after --)')
    .description('run a command inside a running container'))
    .option('-t, --tty', 'allocate a terminal (default: when stdin and stdout are terminals)')
    .option('-T, --no-tty', 'no terminal')
    .option('-u, --user <user>', 'run as this user (name or uid, [:group or gid]) of the container\'s image')
    .option('-e, --env <NAME=VALUE>', 'set a variable (repeatable)', repeatable)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-d, --detach', 'start the command and return at once')
    .option('--privileged', 'give the command every capability (the container\'s seccomp filter stays)')
    .passThroughOptions()
    .action(async (resource: string, argv: string[], options: ExecOptions, command: Command) => runExec(resource, argv, { ...command.optsWithGlobals(), ...options }));
}
