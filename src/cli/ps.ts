import type { Command } from 'commander';
import { openRuntime } from '../runtime/context.js';
import { observeProject, type ObservedContainer } from '../runtime/observe.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral ps`: what runs, read from the runtime itself (not from what `up` believed it did).

interface PsOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
}

export interface PsRow {
  readonly pod: string;
  readonly container: string;
  readonly state: string;
  readonly pid: number | null;
  readonly exitCode: number | null;
  readonly uptimeSeconds: number | null;
  readonly created: string | null;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

function toRow(container: ObservedContainer, now: number): PsRow {
  const running = container.status === 'running';
  const uptime = running && container.created ? Math.max(0, Math.round((now - Date.parse(container.created)) / 1000)) : null;
  return {
    pod: container.pod,
    container: container.name,
    state: container.status,
    pid: container.pid ?? null,
    exitCode: container.exitCode ?? null,
    uptimeSeconds: uptime,
    created: container.created ?? null,
  };
}

function formatTable(rows: readonly PsRow[]): string {
  const header = ['POD', 'CONTAINER', 'STATE', 'PID', 'UPTIME'];
  const cells = rows.map((row) => [
    row.pod,
    row.container,
    row.state === 'exited' && row.exitCode !== null ? `exited (${row.exitCode})` : row.state,
    row.pid === null ? '-' : String(row.pid),
    row.uptimeSeconds === null ? '-' : formatDuration(row.uptimeSeconds),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  return [header, ...cells].map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

async function runPs(options: PsOptions): Promise<void> {
  const context = await openRuntime(await targetProjectName(options), { readOnly: true });
  const observed = await observeProject(context);
  const rows = observed.containers.map((container) => toRow(container, Date.now()));
  process.stdout.write(options.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${formatTable(rows)}\n`);
}

export function registerPs(program: Command): void {
  withTargetOptions(program
    .command('ps')
    .description('list the containers of the project with pod, state, pid and uptime'))
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: PsOptions, command: Command) => runPs({ ...command.optsWithGlobals(), ...options }));
}
