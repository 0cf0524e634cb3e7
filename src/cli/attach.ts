import type { Command } from 'commander';
import { setExplainedExitCode, UsageError } from './errors.js';
import { selectOneContainer } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral attach [--no-stdin] [--no-sig-proxy] [--detach-keys KEYS] pod/container`, as docker compose's:
// our stdio joined to a running container's through its conmon. Its output from now on comes to our
// stdout and stderr (what it wrote before is in `corral logs`); our stdin goes to its stdin when it
// keeps one open (`stdin_open: true`). With a terminal (`tty: true`) ours goes raw and the detach
// keys (ctrl-p ctrl-q) leave it running; without one, the signals we get are passed on to it
// (--sig-proxy, as docker's). When the container exits, so does attach, with its exit code.

interface AttachOptions extends TargetOptions {
  readonly stdin?: boolean;
  readonly sigProxy?: boolean;
  readonly detachKeys?: string;
}

/** The signals passed on to the container without a terminal (docker's sig-proxy passes them all; these are the ones a user sends). */
const PROXIED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

async function runAttach(resource: string, options: AttachOptions): Promise<void> {
  const [{ openRuntime }, { attachToContainer }, { readStdioOfSpec }, { joinStdio }, { parseDetachKeys, DEFAULT_DETACH_KEYS }, { waitForExitCode }, { signalContainer }] = await Promise.all([
    import('../runtime/context.js'), import('../runtime/attach.js'), import('../runtime/observe.js'), import('./stdio-session.js'), import('../runtime/detach-keys.js'),
    import('../converge/exits.js'), import('../runtime/signal.js'),
  ]);
  let detachKeys: Buffer;
  try {
    detachKeys = parseDetachKeys(options.detachKeys ?? DEFAULT_DETACH_KEYS);
  } catch (error) {
    throw new UsageError((error as Error).message, 'the default is ctrl-p,ctrl-q');
  }
  const context = await openRuntime(await targetProjectName(options, { command: 'attach' }), { readOnly: true });
  const container = await selectOneContainer(context, resource, { command: 'attach' });
  if (container.status !== 'running') throw new UsageError(`${resource} is ${container.status}`, `start it first (corral start ${resource}); what it wrote is in corral logs ${resource}`);
  const stdio = await readStdioOfSpec(context, container.id);
  const attachment = await attachToContainer(context, container.id, { stdout: process.stdout, stderr: process.stderr });
  const proxy = (signal: string) => void signalContainer(context, container.id, signal).catch((error: Error) => process.stderr.write(`corral: passing ${signal} on: ${error.message}\n`));
  const proxied = !stdio.terminal && options.sigProxy !== false ? PROXIED_SIGNALS.map((signal) => [signal, () => proxy(signal)] as const) : [];
  for (const [signal, handler] of proxied) process.on(signal, handler);
  const end = await joinStdio(attachment, { tty: stdio.terminal, stdin: stdio.stdinOpen && options.stdin !== false, detachKeys });
  for (const [signal, handler] of proxied) process.off(signal, handler);
  if (end === 'detached') {
    process.stderr.write(`\r\ncorral: detached from ${container.pod}/${container.name}; it goes on running\n`);
    return;
  }
  setExplainedExitCode(await waitForExitCode(context, container));
}

export function registerAttach(program: Command): void {
  withTargetOptions(program
    .command('attach')
    .argument('<container>', 'pod/container, or a pod of one container')
    .description('join this terminal (or these pipes) to a running container\'s stdin, stdout and stderr'))
    .option('--no-stdin', 'do not pass stdin on')
    .option('--no-sig-proxy', 'do not pass signals on to the container (without a terminal)')
    .option('--detach-keys <keys>', 'the keys that leave it running (with a terminal)', 'ctrl-p,ctrl-q')
    .action(async (resource: string, options: AttachOptions, command: Command) => runAttach(resource, { ...command.optsWithGlobals(), ...options }));
}
