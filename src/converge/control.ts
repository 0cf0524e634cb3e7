import type { RuntimeContext } from '../runtime/context.js';
import * as runtime from '../runtime/container.js';
import { pauseContainer, thawIfPaused, unpauseContainer } from '../runtime/pause.js';
import { signalContainer } from '../runtime/signal.js';
import { checkpointContainer, restoreContainer, type PodNetworkIdentity } from '../runtime/checkpoint.js';
import type { Project } from '../project/model.js';
import { addressForRestore, networkIdentityOf } from './restore-address.js';
import { withContainersFrozen } from '../runtime/pod-freeze.js';
import { readPodAttachment } from '../network/pod-network.js';
import { observeContainer, type ObservedContainer } from '../runtime/observe.js';
import { withProjectLock } from '../state/lock.js';
import { readStoppedSet, writeStoppedSet } from '../state/snapshots.js';
import { CONTAINER_CONCURRENCY, runWithConcurrency } from './concurrency.js';
import { notifySupervisor } from '../supervisor/launch.js';

// `stop`, `start`, `restart`, `pause`, `unpause`, `kill`, `checkpoint` and `restore` of containers that exist: under the
// project lock, with the user's wish recorded first (a stopped container is one no restart policy
// brings back), then the supervisor told to follow.

export type ControlAction = 'stop' | 'start' | 'restart' | 'pause' | 'unpause' | 'kill' | 'checkpoint' | 'restore';

export interface ControlOptions {
  /** `kill`: the signal (default KILL). */
  readonly signal?: string;
  /** `stop`, `restart`: how long after the stop signal before SIGKILL (`-t`); default: the container's stop_grace_period. */
  readonly graceMs?: number;
  /** `checkpoint`: dump it and let it run on. */
  readonly leaveRunning?: boolean;
  /** `checkpoint`: dump established TCP connections (`--tcp-established`). */
  readonly tcpEstablished?: boolean;
  /** `checkpoint`: dump file locks (`--file-locks`). */
  readonly fileLocks?: boolean;
  /** `checkpoint`: the archive to export the checkpoint to. */
  readonly exportFile?: string;
  /** `restore`: the archive of an exported checkpoint to restore from. */
  readonly importFile?: string;
  /** `restore`: each container's config hash as the project file describes it now, by pod/container. */
  readonly desiredHashes?: ReadonlyMap<string, string>;
  /** `restore`: the project file as it is now, to attach a pod anew at its recorded address (converge/restore-address.ts). */
  readonly project?: Project;
  /**
   * What the caller does instead for a container the action failed for (`up --restore`: start it cold):
   * each failure is said with it, and not thrown.
   */
  readonly failuresSaid?: string;
}

const DONE_WORDS: Record<ControlAction, string> = { stop: 'stopped', start: 'started', restart: 'restarted', pause: 'paused', unpause: 'unpaused', kill: 'killed', checkpoint: 'checkpointed', restore: 'restored' };

/** A signal named as `kill -s` takes it (KILL, SIGKILL, kill, 9) in one spelling. */
function normalSignal(signal: string): string {
  if (signal === '9') return 'KILL';
  return signal.toUpperCase().replace(/^SIG/, '');
}

/**
 * Whether the action is the user's wish that the container stay down: `stop`, and a `kill` with
 * SIGKILL, which ends any process (docker, too, takes a kill for a stop the restart policy respects).
 * Other signals (HUP to reload, USR1...) leave the wish as it was. A checkpoint that stops the
 * container is a stop: no restart policy starts it afresh, a restore brings it back.
 */
function meansStopped(action: ControlAction, options: ControlOptions): boolean {
  return action === 'stop' || (action === 'kill' && normalSignal(options.signal ?? 'KILL') === 'KILL') || (action === 'checkpoint' && !options.leaveRunning);
}

/** Whether the action is the user's wish that the container run again. */
const meansStarted = (action: ControlAction) => action === 'start' || action === 'restart' || action === 'restore';

/** What the action does to one container (and what to say of it beyond the action's word); a container it does not apply to is named in the error. */
async function act(context: RuntimeContext, container: ObservedContainer, action: ControlAction, options: ControlOptions): Promise<string | void> {
  const resource = `${container.pod}/${container.name}`;
  const live = container.status === 'running' || container.status === 'paused';
  switch (action) {
    case 'stop':
      if (container.status !== 'exited') await runtime.stopContainer(context, container.id, { graceMs: options.graceMs });
      return;
    case 'start':
      if (container.status === 'paused') throw new Error('it is paused; unpause it instead: corral unpause ' + resource);
      if (container.status === 'exited') await runtime.restartContainer(context, container.id, resource);
      else if (container.status === 'created') await runtime.startContainer(context, container.id, resource);
      return;
    case 'restart':
      await runtime.restartContainer(context, container.id, resource, { graceMs: options.graceMs });
      return;
    case 'pause':
      if (container.status === 'paused') return;
      if (container.status !== 'running') throw new Error(`it is ${container.status}, and only a running container can be paused`);
      await pauseContainer(context, container.id, resource);
      return;
    case 'unpause':
      if (container.status !== 'paused') throw new Error(`it is ${container.status}, not paused`);
      await unpauseContainer(context, container.id, resource);
      return;
    case 'kill':
      if (!live) throw new Error(`it is ${container.status}, so there is no process to signal`);
      await signalContainer(context, container.id, normalSignal(options.signal ?? 'KILL'));
      // As docker: the signal is delivered once the container is thawed.
      await thawIfPaused(context, container.id);
      return;
    case 'checkpoint':
      await checkpointContainer(context, container, {
        leaveRunning: options.leaveRunning, tcpEstablished: options.tcpEstablished, fileLocks: options.fileLocks, exportFile: options.exportFile,
        podNetwork: await podNetworkOf(context, container.pod),
      });
      return;
    case 'restore': {
      const desiredHash = options.desiredHashes?.get(resource);
      if (desiredHash === undefined) throw new Error('the project file has no such container any more, so there is no configuration to restore it into');
      const { project } = options;
      const restored = await restoreContainer(context, container, {
        desiredHash, importFile: options.importFile,
        podNetworkFor: async (recorded) => (project ? addressForRestore(context, project, container.pod, recorded) : { now: await podNetworkOf(context, container.pod) }),
      });
      return restored.note;
    }
  }
}

/** The pod's address and published ports as its network attached them (none: the host's network, or not attached). */
async function podNetworkOf(context: RuntimeContext, pod: string): Promise<PodNetworkIdentity | undefined> {
  return networkIdentityOf(await readPodAttachment(context, pod));
}

/**
 * The containers to act on, in groups acted on as one: for a checkpoint, the containers named of one
 * pod, frozen together and dumped one after another (pod-freeze.ts), so the checkpoint holds them
 * as they stood at one moment; for a restore, those of one pod one after another (two CRIU restores
 * into the pod's namespaces at once failed in the guest: "criu failed: type NOTIFY"); for any other
 * action, each container alone.
 */
function actingGroups(containers: readonly ObservedContainer[], action: ControlAction): ObservedContainer[][] {
  if (action !== 'checkpoint' && action !== 'restore') return containers.map((container) => [container]);
  const byPod = new Map<string, ObservedContainer[]>();
  for (const container of containers) byPod.set(container.pod, [...(byPod.get(container.pod) ?? []), container]);
  return [...byPod.values()];
}

/**
 * A failed checkpoint leaves the container running as it was (CRIU lets the dumped processes go on),
 * and a failed restore leaves it stopped: for those, the wish recorded first goes back as it was.
 */
const undoesWishOnFailure = (action: ControlAction) => action === 'checkpoint' || action === 'restore';

/**
 * Whether a checkpoint that failed stopped the container all the same (the dump ended its processes,
 * and what failed came after: the export, say): that stop is kept, as `corral stop`'s, so its restart
 * policy does not start it afresh while its images wait for a restore.
 */
async function stoppedByFailedCheckpoint(context: RuntimeContext, action: ControlAction, container: ObservedContainer): Promise<boolean> {
  if (action !== 'checkpoint') return false;
  const now = await observeContainer(context, container.id);
  return now.status !== 'running' && now.status !== 'paused';
}

export async function controlContainers(context: RuntimeContext, containers: readonly ObservedContainer[], action: ControlAction, say: (line: string) => void, options: ControlOptions = {}): Promise<void> {
  const failures: string[] = [];
  const failed: string[] = [];
  await withProjectLock(context.paths.lock, async () => {
    // The user's wish changes with stop (and a SIGKILL), start and restart; pause, unpause and other signals leave it.
    const stops = meansStopped(action, options);
    const changesWish = stops || meansStarted(action);
    const stoppedBefore = changesWish ? await readStoppedSet(context.paths.stopped) : new Set<string>();
    if (changesWish) {
      const stopped = new Set(stoppedBefore);
      for (const container of containers) {
        const resource = `${container.pod}/${container.name}`;
        if (stops) stopped.add(resource);
        else stopped.delete(resource);
      }
      await writeStoppedSet(context.paths.stopped, stopped);
    }
    const actOn = async (container: ObservedContainer) => {
      const resource = `${container.pod}/${container.name}`;
      try {
        const said = await act(context, container, action, options);
        say(`✔ ${resource}  ${DONE_WORDS[action]}${said ? ` ${said}` : ''}`);
      } catch (error) {
        failed.push(resource);
        failures.push(`${resource}: ${(error as Error).message}`);
        say(`✘ ${resource}  ${(error as Error).message}${options.failuresSaid ? `; ${options.failuresSaid} instead` : ''}`);
      }
    };
    await runWithConcurrency(actingGroups(containers, action), CONTAINER_CONCURRENCY, async (group) => {
      if (group.length === 1) return actOn(group[0]!);
      if (action === 'restore') {
        for (const container of group) await actOn(container);
        return;
      }
      const pod = group[0]!.pod;
      try {
        await withContainersFrozen(context, group.map((container) => container.id), async () => {
          for (const container of group) await actOn(container);
        });
      } catch (error) {
        // The freeze itself failed (a container ended meanwhile): no container of the pod was dumped.
        for (const container of group) {
          const resource = `${container.pod}/${container.name}`;
          if (failed.includes(resource)) continue;
          failed.push(resource);
          failures.push(`${resource}: ${(error as Error).message}`);
        }
        say(`✘ ${pod}  ${(error as Error).message}`);
      }
    });
    if (changesWish && undoesWishOnFailure(action) && failed.length > 0) {
      const stopped = await readStoppedSet(context.paths.stopped);
      for (const container of containers.filter((one) => failed.includes(`${one.pod}/${one.name}`))) {
        const resource = `${container.pod}/${container.name}`;
        if (stoppedBefore.has(resource) || await stoppedByFailedCheckpoint(context, action, container)) stopped.add(resource);
        else stopped.delete(resource);
      }
      await writeStoppedSet(context.paths.stopped, stopped);
    }
  });
  await notifySupervisor(context);
  if (failures.length > 0 && !options.failuresSaid) throw new Error(`${action} failed for ${failures.join('; ')}`);
}
