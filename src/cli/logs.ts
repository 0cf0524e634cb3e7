import type { Command } from 'commander';
import { openRuntime } from '../runtime/context.js';
import { followProjectLogs } from '../runtime/follow-logs.js';
import { LOG_TIME_FORMS, parseLogTime, type LogWindow } from '../runtime/log-window.js';
import { UsageError } from './errors.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral logs [-f] [--tail N] [--since T] [--until T] [-t] [--no-log-prefix] [pod/container ...]`:
// the output conmon recorded, whole lines, with -f as it comes; the flags read as docker compose's.

interface LogsOptions extends TargetOptions {
  readonly follow?: boolean;
  readonly tail?: string;
  readonly since?: string;
  readonly until?: string;
  readonly timestamps?: boolean;
  /** commander's name for --no-log-prefix. */
  readonly logPrefix?: boolean;
}

/** A `--since`/`--until` flag's value as ms since the epoch (undefined when not given); a UsageError when it is no time. */
export function timeFlag(flag: string, text: string | undefined, nowMs: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseLogTime(text, nowMs);
  if (ms === undefined) throw new UsageError(`${flag} ${text}: not a time`, `give ${LOG_TIME_FORMS}`);
  return ms;
}

/** The flags as a window, checked before anything is read; `--tail all` (compose's default) is no limit. */
export function logWindowOf(options: Pick<LogsOptions, 'tail' | 'since' | 'until'>, nowMs: number): LogWindow {
  const time = (flag: string, text: string | undefined) => timeFlag(flag, text, nowMs);
  const tail = options.tail === undefined || options.tail === 'all' ? undefined : Number(options.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UsageError(`--tail ${options.tail}: not a number of lines`, 'give a whole number (0 or more) or all');
  return { tail, sinceMs: time('--since', options.since), untilMs: time('--until', options.until) };
}

async function runLogs(resources: string[], options: LogsOptions): Promise<void> {
  const window = logWindowOf(options, Date.now());
  const context = await openRuntime(await targetProjectName(options, { command: 'logs', acceptTheOneRunning: true }), { readOnly: true });
  const wanted = (await selectContainers(context, resources)).map((container) => `${container.pod}/${container.name}`);
  let interrupted = false;
  process.on('SIGINT', () => (interrupted = true));
  await followProjectLogs(context, {
    only: wanted,
    follow: options.follow ?? false,
    keepGoing: () => !interrupted,
    onLine: (line) => process.stdout.write(`${line}\n`),
    prefix: options.logPrefix !== false && (resources.length === 0 || wanted.length !== 1),
    window,
    timestamps: options.timestamps ?? false,
  });
}

export function registerLogs(program: Command): void {
  withTargetOptions(program
    .command('logs')
    .description('show the output of containers (all, a pod, or pod/container)'), { shortFile: false })
    .argument('[resources...]', 'pod or pod/container')
    .option('-f, --follow', 'keep printing new output until the containers exit')
    .option('-n, --tail <lines>', 'of what is written already, only the last N lines of each container (all: every line)', 'all')
    .option('--since <time>', 'only lines written since then: a date (2026-11-30T08:00:00Z), Unix seconds, or a duration back from now (10m, 1h30m)')
    .option('--until <time>', 'only lines written before then (same forms as --since)')
    .option('-t, --timestamps', 'start each line with the time it was written')
    .option('--no-log-prefix', 'leave out the pod/container | prefix')
    .option('--no-color', 'accepted for compose\'s sake: Corral prints no colours in logs')
    .action(async (resources: string[], options: LogsOptions, command: Command) => runLogs(resources, { ...command.optsWithGlobals(), ...options }));
}
