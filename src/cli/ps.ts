import type { Command } from 'commander';
import { repeatable } from './repeatable.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readAppliedCommit } from '../gitops/applied-commit.js';
import { readAppliedProject } from '../project/applied-project.js';
import { openRuntime } from '../runtime/context.js';
import { observeProject, type ObservedContainer } from '../runtime/observe.js';
import { type CheckpointRecord, readCheckpointRecord } from '../runtime/checkpoint.js';
import { ensureSupervisor } from '../supervisor/launch.js';
import { type ContainerSnapshot, readMachineSnapshots } from '../state/snapshots.js';
import { askSupervisor } from '../supervisor/socket.js';
import { formatTable } from './table.js';
import { UsageError } from './errors.js';
import { selectContainers } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral ps`: what runs, read from the runtime itself (not from what `up` believed it did).

interface PsOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
  /** Only pod names, one per line (compose: service names). */
  readonly services?: boolean;
  /** Only runtime ids, one per line. */
  readonly quiet?: boolean;
  /** Only containers in these states (`--status`, repeatable, and `--filter status=S`). */
  readonly status?: readonly string[];
  readonly filter?: readonly string[];
  readonly all?: boolean;
}

/** The states a container can be in, as `--status` takes them. */
const STATES = ['created', 'running', 'paused', 'exited'] as const;


/** The states `--status` and `--filter status=...` ask for; none: every state. */
export function wantedStates(options: Pick<PsOptions, 'status' | 'filter'>): Set<string> | undefined {
  const fromFilters = (options.filter ?? []).map((filter) => {
    const [key, value] = filter.split('=', 2);
    if (key !== 'status' || !value) throw new UsageError(`--filter ${filter}: Corral filters only by status`, `write --filter status=STATE, with STATE one of ${STATES.join(', ')}`);
    return value;
  });
  const wanted = [...(options.status ?? []), ...fromFilters];
  const unknown = wanted.filter((state) => !(STATES as readonly string[]).includes(state));
  if (unknown.length > 0) throw new UsageError(`no container state ${unknown.join(', ')}`, `choose from ${STATES.join(', ')}`);
  return wanted.length > 0 ? new Set(wanted) : undefined;
}

export interface PsRow {
  readonly pod: string;
  readonly container: string;
  /** What the compose file calls it (`container_name`), as `docker compose ps` shows it; null when it names none. */
  readonly containerName: string | null;
  readonly state: string;
  readonly pid: number | null;
  readonly exitCode: number | null;
  readonly uptimeSeconds: number | null;
  readonly created: string | null;
  readonly restarts: number;
  /** starting, healthy or unhealthy; null without a healthcheck. */
  readonly health: string | null;
  readonly healthOutput: string | null;
  /** The supervisor's view: running, backoff (waiting to restart), failed, ...; null when unsupervised. */
  readonly supervisor: string | null;
  /** privileged: true in the file: all capabilities, no seccomp, no masked paths. */
  readonly privileged: boolean;
  /** The process runs on from a checkpoint (`corral restore`): when it was taken, and how long it had run by then. */
  readonly restored: { readonly checkpointedAt: string; readonly restoredAt: string; readonly uptimeBeforeSeconds: number | null } | null;
}

/** What the checkpoint says of the running process, when it is the one a restore brought back. */
function restoredOf(container: ObservedContainer, record: CheckpointRecord | undefined): PsRow['restored'] {
  if (!record?.restoredAt || record.restoredPid === undefined || record.restoredPid !== container.pid) return null;
  const uptimeBefore = record.startedAt ? Math.max(0, Math.round((Date.parse(record.checkpointedAt) - Date.parse(record.startedAt)) / 1000)) : null;
  return { checkpointedAt: record.checkpointedAt, restoredAt: record.restoredAt, uptimeBeforeSeconds: uptimeBefore };
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

/**
 * The health of the process that runs now. What the supervisor judged is about one process: right
 * after a `restart` or `start` it may not have seen the new one yet, which is `starting` until its
 * own probes pass (snapshots of older supervisors name no process, and are taken as they are).
 */
function healthOf(container: ObservedContainer, snapshot: ContainerSnapshot | undefined): { health: string | null; output: string | null } {
  if ((container.status !== 'running' && container.status !== 'paused') || snapshot?.health === undefined) return { health: null, output: null };
  if (snapshot.healthPid !== undefined && snapshot.healthPid !== container.pid) return { health: 'starting', output: null };
  return { health: snapshot.health, output: snapshot.healthOutput ?? null };
}

/** What the row is told beside what the runtime says: the supervisor's view, the checkpoint and the name compose gives it. */
interface RowNotes {
  readonly snapshot: ContainerSnapshot | undefined;
  readonly checkpoint: CheckpointRecord | undefined;
  readonly containerName: string | undefined;
}

function toRow(container: ObservedContainer, now: number, { snapshot, checkpoint, containerName }: RowNotes): PsRow {
  // A paused container's process still exists (frozen): it keeps its uptime and its last health.
  const running = container.status === 'running' || container.status === 'paused';
  const { health, output } = healthOf(container, snapshot);
  const uptime = running && container.created ? Math.max(0, Math.round((now - Date.parse(container.created)) / 1000)) : null;
  return {
    pod: container.pod,
    container: container.name,
    containerName: containerName ?? null,
    state: container.status,
    pid: container.pid ?? null,
    exitCode: container.exitCode ?? null,
    uptimeSeconds: uptime,
    created: container.created ?? null,
    restarts: snapshot?.restartCount ?? 0,
    health,
    healthOutput: output,
    supervisor: snapshot?.state ?? null,
    privileged: container.privileged ?? false,
    restored: running ? restoredOf(container, checkpoint) : null,
  };
}

/** The uptime cell: a restored process's notes its checkpoint and how long it had run before it. */
function uptimeCell(row: PsRow): string {
  if (row.uptimeSeconds === null) return '-';
  const uptime = formatDuration(row.uptimeSeconds);
  if (!row.restored) return uptime;
  const before = row.restored.uptimeBeforeSeconds === null ? '' : `, ${formatDuration(row.restored.uptimeBeforeSeconds)} before`;
  return `${uptime} (restored from ${row.restored.checkpointedAt}${before})`;
}

function stateCell(row: PsRow): string {
  const exited = row.exitCode !== null ? `exited (${row.exitCode})` : row.state;
  if (row.supervisor === 'backoff') return `${exited}, restarting`;
  return row.state === 'exited' ? exited : row.state;
}

/** The container cell: its name, with the name compose calls it and privileged noted. */
function containerCell(row: PsRow): string {
  const notes = [...(row.containerName !== null ? [`container_name: ${row.containerName}`] : []), ...(row.privileged ? ['privileged'] : [])];
  return notes.length > 0 ? `${row.container} (${notes.join(', ')})` : row.container;
}

function psTable(rows: readonly PsRow[]): string {
  return formatTable(['POD', 'CONTAINER', 'STATE', 'HEALTH', 'RESTARTS', 'PID', 'UPTIME'], rows.map((row) => [
    row.pod,
    containerCell(row),
    stateCell(row),
    row.health ?? '-',
    String(row.restarts),
    row.pid === null ? '-' : String(row.pid),
    uptimeCell(row),
  ]));
}

/** The names compose gives containers (container_name), by POD/CONTAINER, as the project was last applied. */
async function composeNames(applied: string): Promise<Map<string, string>> {
  const project = await readAppliedProject(applied);
  return new Map((project?.pods ?? []).flatMap((pod) => pod.containers.flatMap((container) => (container.containerName ? [[`${pod.name}/${container.name}`, container.containerName] as const] : []))));
}

/** The supervisor's machines: asked over its socket when it lives, else as it last wrote them. */
async function machineStates(paths: { supervisorSocket: string; machines: string }) {
  const live = existsSync(paths.supervisorSocket) ? await askSupervisor(paths.supervisorSocket, { op: 'status' }, { timeoutMs: 500 }) : undefined;
  return { supervised: live !== undefined, machines: live?.containers ?? (await readMachineSnapshots(paths.machines))?.containers };
}

async function runPs(resources: readonly string[], options: PsOptions): Promise<void> {
  const states = wantedStates(options);
  const context = await openRuntime(await targetProjectName(options, { command: 'ps', acceptTheOneRunning: true }), { readOnly: true });
  // The supervisor is asked first: it answers while the runtime state is read (synchronously).
  const [{ supervised, machines }, observed] = await Promise.all([machineStates(context.paths), observeProject(context)]);
  const named = resources.length > 0 ? new Set((await selectContainers(context, resources)).map((container) => container.id)) : undefined;
  const shown = observed.containers.filter((container) => (!named || named.has(container.id)) && (!states || states.has(container.status)));
  if (options.quiet || options.services) {
    const lines = options.quiet ? shown.map((container) => container.id) : [...new Set(shown.map((container) => container.pod))];
    process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  } else {
    // Only a running process can be a restored one: the others' checkpoint records are not read.
    const records = await Promise.all(shown.map((container) => (container.status === 'running' || container.status === 'paused' ? readCheckpointRecord(context, container.id) : undefined)));
    const names = await composeNames(context.paths.applied);
    const rows = shown.map((container, index) => toRow(container, Date.now(), {
      snapshot: machines?.[`${container.pod}/${container.name}`], checkpoint: records[index], containerName: names.get(`${container.pod}/${container.name}`),
    }));
    process.stdout.write(options.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${psTable(rows)}\n`);
  }
  if (options.format !== 'json' && !options.quiet && !options.services) {
    const gitops = await readAppliedCommit(context.paths.gitopsCommit);
    if (gitops) process.stdout.write(`gitops: commit ${gitops.commit.slice(0, 12)} of ${gitops.repo} ${gitops.branch}, applied ${gitops.appliedAt}\n`);
  }
  // A supervisor that died (kill -9, OOM) is replaced by the next command, which rehydrates it.
  if (observed.containers.length > 0 && !supervised) await ensureSupervisor(context);
}

export function registerPs(program: Command): void {
  withTargetOptions(program
    .command('ps')
    .argument('[resources...]', 'only these pods or pod/containers')
    .description('list the containers of the project with pod, state, health, restarts, pid and uptime'))
    .option('--format <format>', 'table or json', 'table')
    .option('-a, --all', 'accepted for compose\'s sake: Corral lists stopped containers too, always')
    .option('--services', 'print only the pods\' names (compose: services), one per line')
    .option('-q, --quiet', 'print only the containers\' runtime ids')
    .option('--status <state>', `only containers in this state (${STATES.join(', ')}); repeatable`, repeatable)
    .option('--filter <key=value>', 'only containers matching: status=STATE; repeatable', repeatable)
    .action(async (resources: string[], options: PsOptions, command: Command) => runPs(resources, { ...command.optsWithGlobals(), ...options }));
}
