import { appendFile, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../state/atomic.js';
import { isRecord, readStateJson } from '../state/read.js';
import type { RuntimeContext } from './context.js';
import { restoreFromImages, stopContainer } from './container.js';
import { RuntimeError } from './errors.js';
import type { ObservedContainer } from './observe.js';
import * as runc from './runc.js';

// A container saved with its memory and brought back (issue 23): `runc checkpoint` dumps its processes
// with CRIU into the container's state dir (removed with it by `down`), beside a record of what was
// dumped (its config hash); `restore` refuses images of another configuration, then a new conmon runs
// `runc restore` in the same bundle, so the restored container is watched like any other and the
// supervisor takes it over. An export is a tar of the record, the images and the changes of the
// container's upper dir (as libpod's rootfs-diff.tar and deleted.files), for a restore elsewhere.
// The container's log notes each checkpoint and restore; the record says which process was restored
// (ps notes it, with its uptime before the checkpoint) and the supervisor tells both as events.
// The pod's address and ports are recorded; a restore into fresh namespaces asks for that address.

/**
 * execa, loaded where a checkpoint is archived or applied: up, ps and the supervisor import this
 * module to read checkpoint records, and loading execa (~120 files) cost ~20 ms of each one's start.
 */
async function execa(file: string, args: readonly string[], options: { cwd?: string; input?: string } = {}) {
  return (await import('execa')).execa(file, args, options);
}

/** A dump under emulation took seconds; one that hangs (a CRIU that does not match the kernel) is ended. */
const CHECKPOINT_TIMEOUT_MS = 300_000;
/** Once CRIU has killed the dumped processes, conmon writes the exit file. */
const EXIT_AFTER_DUMP_MS = 30_000;

export interface CheckpointRecord {
  readonly resource: string;
  /** The config hash of the container that was dumped: a restore needs the same. */
  readonly hash: string;
  readonly checkpointedAt: string;
  readonly leftRunning: boolean;
  readonly kernel: string;
  readonly dumpMs: number;
  /** When the dumped process first started (a process restored before keeps its first start). */
  readonly startedAt?: string;
  /** CRIU's options the dump took, which its restore must take too. */
  readonly criuOptions?: readonly string[];
  /** Set by the restore: when, and the pid of the process it brought back. */
  readonly restoredAt?: string;
  readonly restoredPid?: number;
  /** The pod's network identity when it was dumped: a restore elsewhere compares it with the pod's now. */
  readonly podNetwork?: PodNetworkIdentity;
}

/** The pod's address on its first network and its published ports (`HOSTIP:PORT->PORT/PROTO`). */
export interface PodNetworkIdentity {
  readonly ip: string;
  readonly ports: readonly string[];
}

/** CRIU's options that change what is dumped, as `checkpoint` takes them. */
export interface CriuDumpOptions {
  /** Dump established TCP connections (CRIU's repair mode); the restore needs the same addresses. */
  readonly tcpEstablished?: boolean;
  /** Dump held file locks. */
  readonly fileLocks?: boolean;
}

export interface CheckpointOptions extends CriuDumpOptions {
  readonly leaveRunning?: boolean;
  readonly podNetwork?: PodNetworkIdentity;
  /** A tar archive to write the record and images to (compressed as its name says: .tar.zst, .tar.gz). */
  readonly exportFile?: string;
}

export interface RestoreOptions {
  /** An archive `checkpoint --export` wrote: its record and images replace the container's own. */
  readonly importFile?: string;
  /** The container's config hash as the project file describes it now. */
  readonly desiredHash: string;
  /**
   * The pod's network identity for the restore, given the recorded one: the pod at its recorded address
   * when it can be (converge/restore-address.ts), and why not when it is not (undefined: the host's network).
   */
  readonly podNetworkFor?: (recorded: PodNetworkIdentity | undefined) => Promise<{ now?: PodNetworkIdentity; why?: string }>;
}

const resourceOf = (container: ObservedContainer) => `${container.pod}/${container.name}`;

const isCheckpointRecord = (value: unknown): value is CheckpointRecord => isRecord(value) && typeof value.hash === 'string' && typeof value.resource === 'string';

export async function readCheckpointRecord(context: RuntimeContext, id: string): Promise<CheckpointRecord | undefined> {
  const file = context.paths.container(id).checkpointRecord;
  return readStateJson<CheckpointRecord>(file, { fix: `remove ${file} and checkpoint the container again`, isValid: isCheckpointRecord, shape: 'a checkpoint record' });
}

const exists = (file: string) => lstat(file).then(() => true, (error: NodeJS.ErrnoException) => {
  if (error.code === 'ENOENT') return false;
  throw error;
});

/** The archive's file names of the upper dir's changes: libpod's, so the layout reads the same. */
const ROOTFS_DIFF = 'rootfs-diff.tar';
const DELETED_FILES = 'deleted.files';

/**
 * The upper dir's changes as a tar of what was added or changed, and the paths the container deleted
 * (overlayfs's whiteouts, character devices 0:0, which a tar applied to another root cannot carry).
 * A container without an upper dir (its root a private copy) has no changes to carry.
 */
async function writeRootfsDiff(upper: string, into: string): Promise<boolean> {
  if (!await exists(upper)) return false;
  const listed = await execa('find', ['.', '-mindepth', '1', '-printf', '%y %P\\0'], { cwd: upper });
  const entries = String(listed.stdout).split('\0').filter(Boolean).map((entry) => ({ type: entry[0], name: entry.slice(2) }));
  const deleted: string[] = [];
  for (const entry of entries.filter((one) => one.type === 'c')) {
    if ((await lstat(path.join(upper, entry.name))).rdev === 0) deleted.push(entry.name);
  }
  const kept = entries.filter((entry) => !deleted.includes(entry.name)).map((entry) => entry.name);
  await writeFile(path.join(into, DELETED_FILES), deleted.map((name) => `${name}\n`).join(''), { mode: 0o600 });
  await execa('tar', ['-C', upper, '--null', '--no-recursion', '-T', '-', '-cf', path.join(into, ROOTFS_DIFF)], { input: kept.map((name) => `${name}\0`).join('') });
  return true;
}

/** The changes an export carried, applied through the container's mounted root (overlayfs writes them to its upper dir). */
async function applyRootfsDiff(from: string, rootfs: string): Promise<void> {
  const diff = path.join(from, ROOTFS_DIFF);
  // An export of a container without an upper dir has none.
  if (!await exists(diff)) return;
  await execa('tar', ['-C', rootfs, '-xf', diff]);
  const deleted = (await readFile(path.join(from, DELETED_FILES), 'utf8')).split('\n').filter(Boolean);
  for (const name of deleted) await rm(path.join(rootfs, name), { recursive: true, force: true });
  await rm(diff, { force: true });
  await rm(path.join(from, DELETED_FILES), { force: true });
}

/** The record, the images and the upper dir's changes, as one archive: `tar -a` compresses as the file's name says. */
async function exportCheckpoint(context: RuntimeContext, id: string, file: string): Promise<void> {
  const { persistent, upper } = context.paths.container(id);
  try {
    const hasDiff = await writeRootfsDiff(upper, persistent);
    await execa('tar', ['-C', persistent, '-caf', file, 'checkpoint.json', 'checkpoint', ...(hasDiff ? [ROOTFS_DIFF, DELETED_FILES] : [])]);
  } finally {
    await rm(path.join(persistent, ROOTFS_DIFF), { force: true });
    await rm(path.join(persistent, DELETED_FILES), { force: true });
  }
}

/** An export's record and images in place of the container's own; one of another container is refused. */
async function importCheckpoint(context: RuntimeContext, container: ObservedContainer, file: string): Promise<void> {
  const files = context.paths.container(container.id);
  await rm(files.checkpointImages, { recursive: true, force: true });
  await rm(files.checkpointRecord, { force: true });
  await execa('tar', ['-C', files.persistent, '-xaf', file]);
  const record = await readCheckpointRecord(context, container.id);
  if (record?.resource !== resourceOf(container)) {
    throw new Error(`${file} holds a checkpoint of ${record?.resource ?? 'nothing Corral recorded'}, not of ${resourceOf(container)}`);
  }
}

/** A line in the container's log (conmon's k8s-file format) saying what Corral did to it. */
async function noteInLog(context: RuntimeContext, id: string, text: string): Promise<void> {
  await appendFile(context.paths.container(id).log, `${new Date().toISOString()} stderr F [corral] ${text}\n`, { mode: 0o600 });
}

/** `runc checkpoint`'s (and `runc restore`'s) flags for CRIU's options. */
export function criuFlags(options: CriuDumpOptions): string[] {
  return [...(options.tcpEstablished ? ['--tcp-established'] : []), ...(options.fileLocks ? ['--file-locks'] : [])];
}

/** Dumps a running container with CRIU into its state dir; it stops unless `leaveRunning`. */
export async function checkpointContainer(context: RuntimeContext, container: ObservedContainer, options: CheckpointOptions = {}): Promise<CheckpointRecord> {
  const resource = resourceOf(container);
  const files = context.paths.container(container.id);
  try {
    if (container.status !== 'running') throw new Error(`it is ${container.status}, and only a running container can be checkpointed`);
    if (!container.hash) throw new Error('it has no recorded config hash, so a restore could not tell its configuration; recreate it with `corral up`');
    const before = await readCheckpointRecord(context, container.id);
    // A process restored before keeps its first start: its uptime goes on across checkpoints.
    const startedAt = before?.restoredPid !== undefined && before.restoredPid === container.pid ? before.startedAt : container.created;
    await rm(files.checkpointImages, { recursive: true, force: true });
    await rm(files.checkpointRecord, { force: true });
    await mkdir(files.checkpointImages, { recursive: true, mode: 0o700 });
    const started = Date.now();
    const criuOptions = criuFlags(options);
    await runc.checkpointContainer(context.runc, container.id, { imagePath: files.checkpointImages, leaveRunning: options.leaveRunning ?? false, criuOptions, timeoutMs: CHECKPOINT_TIMEOUT_MS });
    const record: CheckpointRecord = {
      resource, hash: container.hash, checkpointedAt: new Date().toISOString(), leftRunning: options.leaveRunning ?? false,
      kernel: release(), dumpMs: Date.now() - started, criuOptions, ...(startedAt === undefined ? {} : { startedAt }),
      ...(options.podNetwork ? { podNetwork: options.podNetwork } : {}),
    };
    await writeJsonAtomic(files.checkpointRecord, record);
    await noteInLog(context, container.id, `checkpointed at ${record.checkpointedAt}${record.leftRunning ? ', left running' : ''}`);
    // The dumped processes are gone; conmon records their end, and the runtime state goes with them.
    if (!options.leaveRunning) await stopContainer(context, container.id, { graceMs: EXIT_AFTER_DUMP_MS, signal: 'KILL' });
    if (options.exportFile) await exportCheckpoint(context, container.id, options.exportFile);
    return record;
  } catch (error) {
    throw new RuntimeError({ resource, step: 'checkpoint', message: (error as Error).message, cause: error, hint: `CRIU's log of the dump is ${files.checkpointImages}/dump.log` });
  }
}

/**
 * Brings a stopped container back from its checkpoint (or an exported one), running where it was
 * dumped; `note`: what differs from the checkpoint (the pod's address, and why), said to the user.
 */
export async function restoreContainer(context: RuntimeContext, container: ObservedContainer, options: RestoreOptions): Promise<{ pid: number; note?: string }> {
  const resource = resourceOf(container);
  const files = context.paths.container(container.id);
  try {
    if (container.status === 'running' || container.status === 'paused') throw new Error(`it is ${container.status}; only a stopped container is restored (corral checkpoint stops it)`);
    if (options.importFile) await importCheckpoint(context, container, options.importFile);
    const record = await readCheckpointRecord(context, container.id);
    if (!record) throw new Error(`there is no checkpoint of it; take one with corral checkpoint ${resource}, or restore one with --import FILE`);
    if (record.hash !== options.desiredHash) {
      throw new Error(`the project file changed since the checkpoint of ${record.checkpointedAt} (config hash ${record.hash} then, ${options.desiredHash} now), and the checkpoint holds the old configuration's processes`);
    }
    if (container.hash !== record.hash) throw new Error(`the container was made anew since the checkpoint of ${record.checkpointedAt} (config hash ${container.hash ?? 'none'}, the checkpoint's ${record.hash})`);
    // One created and never started (`corral create`, then an imported checkpoint) has a runc init
    // waiting under its conmon: both go before the restore takes the bundle.
    if (container.status === 'created') await stopContainer(context, container.id, { graceMs: 0 });
    const network = await options.podNetworkFor?.(record.podNetwork);
    const now = network?.now;
    const moved = record.podNetwork && now && record.podNetwork.ip !== now.ip ? ` (the pod's address was ${record.podNetwork.ip}, now ${now.ip}${network.why ? `: ${network.why}` : ''})` : '';
    // Established connections are bound to the address they were dumped with: CRIU cannot restore them on another.
    if (moved && record.criuOptions?.includes('--tcp-established')) {
      throw new Error(`it was checkpointed with --tcp-established, and the pod's address changed${moved}; free ${record.podNetwork!.ip} in the pod's network and restore again, or checkpoint without --tcp-established`);
    }
    if (options.importFile) await applyRootfsDiff(files.persistent, files.rootfs);
    await noteInLog(context, container.id, `restored from the checkpoint of ${record.checkpointedAt}${moved}`);
    const restored = await restoreFromImages(context, container.id, resource, files.checkpointImages, record.criuOptions ?? []);
    await writeJsonAtomic(files.checkpointRecord, { ...record, restoredAt: new Date().toISOString(), restoredPid: restored.pid } satisfies CheckpointRecord);
    return { ...restored, ...(moved ? { note: moved.trim() } : {}) };
  } catch (error) {
    throw new RuntimeError({ resource, step: 'restore', message: (error as Error).message, cause: error, hint: `CRIU's log of the restore is ${files.bundle}/restore.log; \`corral up\` starts it afresh instead` });
  }
}
