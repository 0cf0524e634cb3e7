import type { Command } from 'commander';
import path from 'node:path';
import { byCodeUnits } from '../code-unit-order.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { namesInDir } from '../state/read.js';
import { isValidProjectName } from '../project/name.js';
import { formatTable } from './table.js';
import type { AppliedCommit } from '../gitops/applied-commit.js';
import { runningProjects } from './target.js';

// `corral ls [-a] [--format json]`: every project on the host, as `docker compose ls` lists them:
// its name, how many of its containers are in each state, and the files it was read from. Projects
// with runtime state are listed; `-a` adds those with only persistent state (down, or not yet back
// after a reboot).

interface LsOptions {
  readonly all?: boolean;
  readonly format?: 'table' | 'json';
}

export interface LsRow {
  readonly name: string;
  /** Containers per state, e.g. { running: 2, exited: 1 }. */
  readonly containers: Readonly<Record<string, number>>;
  /** As compose writes it: `running(2), exited(1)`; `down` without containers. */
  readonly status: string;
  /** The project files (and .env, env_files) it was last applied from; empty when unknown. */
  readonly configFiles: readonly string[];
  /** The commit GitOps applied (repo, branch, commit, appliedAt); null when GitOps did not apply it. */
  readonly gitops: AppliedCommit | null;
}

/** Compose's status text from counts per state, in a fixed order of states. */
export function statusText(counts: Readonly<Record<string, number>>): string {
  const order = ['running', 'paused', 'created', 'exited'];
  const states = Object.keys(counts).sort((a, b) => (order.indexOf(a) + 1 || order.length + 1) - (order.indexOf(b) + 1 || order.length + 1) || byCodeUnits(a, b));
  return states.length > 0 ? states.map((state) => `${state}(${counts[state]})`).join(', ') : 'down';
}

async function describeProject(name: string): Promise<LsRow> {
  const [{ openRuntime }, { observeProject }, { readAppliedProject }, { readAppliedCommit }] = await Promise.all([
    import('../runtime/context.js'), import('../runtime/observe.js'), import('../project/applied-project.js'), import('../gitops/applied-commit.js'),
  ]);
  const context = await openRuntime(name, { readOnly: true });
  const [observed, applied, gitops] = await Promise.all([observeProject(context), readAppliedProject(context.paths.applied), readAppliedCommit(context.paths.gitopsCommit)]);
  const containers: Record<string, number> = {};
  for (const container of observed.containers) containers[container.status] = (containers[container.status] ?? 0) + 1;
  return { name, containers, status: statusText(containers), configFiles: applied?.sources ?? [], gitops: gitops ?? null };
}

async function runLs(options: LsOptions): Promise<void> {
  const names = new Set(await runningProjects());
  if (options.all) {
    const withState = await namesInDir(path.join(dirsFromEnvironment().state, 'projects'));
    for (const name of withState.filter(isValidProjectName)) names.add(name);
  }
  const rows = await Promise.all([...names].sort().map(describeProject));
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  // The commit column only when some project came from GitOps, as a short hash.
  const withCommit = rows.some((row) => row.gitops);
  const headers = ['NAME', 'STATUS', 'CONFIG FILES', ...(withCommit ? ['COMMIT'] : [])];
  process.stdout.write(`${formatTable(headers, rows.map((row) => [row.name, row.status, row.configFiles.join(','), ...(withCommit ? [row.gitops?.commit.slice(0, 12) ?? '-'] : [])]))}\n`);
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list the projects on this host: status counts and project files')
    .option('-a, --all', 'also projects that are down but kept state (volumes, a record)')
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: LsOptions) => runLs(options));
}
