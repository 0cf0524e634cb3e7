import type { Command } from 'commander';
import { type TargetOptions, withTargetOptions } from './target.js';
// Statically: its only import is node:net, which the supervisor's socket loads anyway.
import { awaitHandOver, HAND_OVER_ENV } from '../supervisor/hand-over.js';

// `corral supervise -p NAME` (hidden): the detached supervisor process that `up -d` starts. It runs
// until `down` (or a foreground `up`) asks it to go, or SIGTERM; the containers outlive it either way.


async function runSupervise(options: TargetOptions): Promise<void> {
  // Started early by `up -d`: it supervises only once given the word. Not passed on to what it starts.
  const early = process.env[HAND_OVER_ENV] !== undefined;
  delete process.env[HAND_OVER_ENV];
  // Listened for first: an `up` killed while this one loads must not leave it running for long. Not
  // needed after all (the up failed, or found another supervisor): it exits, having touched nothing.
  const handedOver = early
    ? awaitHandOver().then((given) => given || process.exit(0))
    : undefined;
  // Seen by the await below; marked handled only so that it is not reported before that.
  handedOver?.catch(() => {});
  const [{ openRuntime }, { startSupervisor }, { SupervisorError }] = await Promise.all([
    import('../runtime/context.js'), import('../supervisor/supervisor.js'), import('../supervisor/errors.js'),
  ]);
  const context = await openRuntime(options.projectName!, { readOnly: true });
  await handedOver;
  const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  try {
    const supervisor = await startSupervisor(context, { onLine: say });
    say(`supervising project ${context.project} (pid ${process.pid})`);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void supervisor.stop());
    await supervisor.stopped;
    say('supervisor stopped');
    // A pool thread may still wait on the project lock for a step that will never run: do not wait for it.
    process.exit(0);
  } catch (error) {
    // Busy: the lock it waited for a second may still come, and the pool thread waiting for it would
    // keep this process alive until the other supervisor goes (a `down` then found it still there).
    if (error instanceof SupervisorError && (error.reason === 'busy' || error.reason === 'project-gone')) process.exit(0);
    throw error;
  }
}

export function registerSupervise(program: Command): void {
  withTargetOptions(program
    .command('supervise', { hidden: true })
    .description('run the supervisor of a project (started by up -d)'))
    .action(async (options: TargetOptions, command: Command) => runSupervise({ ...command.optsWithGlobals(), ...options }));
}
