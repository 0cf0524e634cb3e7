import { mkdir, rm } from 'node:fs/promises';
import { release } from 'node:os';
import { execa } from 'execa';
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
// supervisor takes it over. An export is a tar of the record and the images, for a restore elsewhere.

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
}

export interface CheckpointOptions {
  readonly leaveRunning?: boolean;
  /** A tar archive to write the record and images to (compressed as its name says: .tar.zst, .tar.gz). */
  readonly exportFile?: string;
}

export interface RestoreOptions {
  /** An archive `checkpoint --export` wrote: its record and images replace the container's own. */
  readonly importFile?: string;
  /** The container's config hash as the project file describes it now. */
  readonly desiredHash: string;
}

const resourceOf = (container: ObservedContainer) => `${container.pod}/${container.name}`;

const isCheckpointRecord = (value: unknown): value is CheckpointRecord => isRecord(value) && typeof value.hash === 'string' && typeof value.resource === 'string';

async function readCheckpointRecord(context: RuntimeContext, id: string): Promise<CheckpointRecord | undefined> {
  const file = context.paths.container(id).checkpointRecord;
  return readStateJson<CheckpointRecord>(file, { fix: `remove ${file} and checkpoint the container again`, isValid: isCheckpointRecord, shape: 'a checkpoint record' });
}

/** The record and the images, as one archive: `tar -a` compresses as the file's name says. */
async function exportCheckpoint(context: RuntimeContext, id: string, file: string): Promise<void> {
  const { persistent } = context.paths.container(id);
  await execa('tar', ['-C', persistent, '-caf', file, 'checkpoint.json', 'checkpoint']);
}

/** An export's record and images in place of the container's own; one of another container is refused. */
async function importCheckpoint(context: RuntimeContext, container: ObservedContainer, file: string): Promise<void> {
  const files = context.paths.container(container.id);
  await rm(files.checkpointImages, { recursive: true, force: true });
  await rm(files.checkpointRecord, { force: true });
  await execa('tar', ['-C', files.persistent, '-xaf', file, 'checkpoint.json', 'checkpoint']);
  const record = await readCheckpointRecord(context, container.id);
  if (record?.resource !== resourceOf(container)) {
    throw new Error(`${file} holds a checkpoint of ${record?.resource ?? 'nothing Corral recorded'}, not of ${resourceOf(container)}`);
  }
}

/** Dumps a running container with CRIU into its state dir; it stops unless `leaveRunning`. */
export async function checkpointContainer(context: RuntimeContext, container: ObservedContainer, options: CheckpointOptions = {}): Promise<CheckpointRecord> {
  const resource = resourceOf(container);
  const files = context.paths.container(container.id);
  try {
    if (container.status !== 'running') throw new Error(`it is ${container.status}, and only a running container can be checkpointed`);
    if (!container.hash) throw new Error('it has no recorded config hash, so a restore could not tell its configuration; recreate it with `corral up`');
    await rm(files.checkpointImages, { recursive: true, force: true });
    await rm(files.checkpointRecord, { force: true });
    await mkdir(files.checkpointImages, { recursive: true, mode: 0o700 });
    const started = Date.now();
    await runc.checkpointContainer(context.runc, container.id, { imagePath: files.checkpointImages, leaveRunning: options.leaveRunning ?? false, timeoutMs: CHECKPOINT_TIMEOUT_MS });
    const record: CheckpointRecord = {
      resource, hash: container.hash, checkpointedAt: new Date().toISOString(), leftRunning: options.leaveRunning ?? false,
      kernel: release(), dumpMs: Date.now() - started,
    };
    await writeJsonAtomic(files.checkpointRecord, record);
    // The dumped processes are gone; conmon records their end, and the runtime state goes with them.
    if (!options.leaveRunning) await stopContainer(context, container.id, { graceMs: EXIT_AFTER_DUMP_MS, signal: 'KILL' });
    if (options.exportFile) await exportCheckpoint(context, container.id, options.exportFile);
    return record;
  } catch (error) {
    throw new RuntimeError({ resource, step: 'checkpoint', message: (error as Error).message, cause: error, hint: `CRIU's log of the dump is ${files.checkpointImages}/dump.log` });
  }
}

/** Brings a stopped container back from its checkpoint (or an exported one), running where it was dumped. */
export async function restoreContainer(context: RuntimeContext, container: ObservedContainer, options: RestoreOptions): Promise<{ pid: number }> {
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
    return await restoreFromImages(context, container.id, resource, files.checkpointImages);
  } catch (error) {
    throw new RuntimeError({ resource, step: 'restore', message: (error as Error).message, cause: error, hint: `CRIU's log of the restore is ${files.bundle}/restore.log; \`corral up\` starts it afresh instead` });
  }
}
