import { unlink } from 'node:fs/promises';
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeContext } from '../runtime/context.js';
import * as native from '../native.js';
import { readMachineSnapshots } from '../state/snapshots.js';
import { eventLog, readEvents } from '../state/events-log.js';
import { StateWriteError } from '../state/errors.js';
import { factsAfter } from './container-events.js';
import { SupervisorError } from './errors.js';
import { isApplied, lockedSteps } from './locked-steps.js';
import { persistSnapshots } from './persist.js';
import { requestHandler } from './requests.js';
import { serveSocket } from './socket.js';
import { supervisedContainers } from './supervised.js';
import { startSyncLoop } from './sync-loop.js';

// The per-project supervisor: one long-lived container machine per container of the applied project
// (supervised.ts), fed with what the runtime shows (sync-loop.ts: conmon's exit files wake it at once,
// a slow poll catches the rest). The machines decide restarts and run health checks; every runtime
// step they take holds the project lock (locked-steps.ts), so a supervisor and a `corral up` never act
// on one project at the same time. Its knowledge (restarts, backoff, health) is written to
// machines.json (persist.ts), which `ps` reads and a successor picks up; its socket takes requests
// (requests.ts). This file puts them together and takes them apart.

export interface Supervisor {
  /** Whether the container will come back by itself (waiting out a backoff, or restarting). */
  willRestart(resource: string): boolean;
  /** Stops supervising (the containers stay as they are) and releases the socket and lock. */
  stop(): Promise<void>;
  /** Settles when the supervisor stopped, by stop() or a `shutdown` request. */
  readonly stopped: Promise<void>;
}

/**
 * How long to wait for the supervisor lock, in ms: a predecessor that was just asked to go (a
 * foreground `up` takes over from `up -d`) releases it within this; a live one never does.
 */
const LOCK_WAIT_MS = 1000;

/**
 * Starts supervising the project in this process: takes the supervisor lock (SupervisorError `busy`
 * when another supervisor holds it; `project-gone` when the project is not applied), serves the
 * socket, and runs until stop() or `shutdown`.
 */
export async function startSupervisor(context: RuntimeContext, options: { onLine?: (line: string) => void } = {}): Promise<Supervisor> {
  const say = options.onLine ?? (() => {});
  const { paths } = context;
  if (!isApplied(paths)) throw SupervisorError.projectGone(context.project, paths);
  const lockFd = await Promise.race([native.lockFile(paths.supervisorLock), sleep(LOCK_WAIT_MS).then(() => undefined)]);
  if (lockFd === undefined) throw SupervisorError.busy(context.project, paths);

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopAll());
  const kept = await readEvents(paths.events);
  const events = eventLog(paths.events, kept);
  const containers = supervisedContainers({
    told: factsAfter(kept),
    onEvents: (happened) => void events.append(happened).catch((error: unknown) => {
      // A full disk costs the replay of these events, never the supervision.
      if (!(error instanceof StateWriteError)) throw error;
      say(error.toString());
    }),
    context,
    underLock: lockedSteps(context),
    previous: await readMachineSnapshots(paths.machines),
    onLine: say,
    onChange: () => persister.changed(),
    onProjectGone: () => void stop(),
  });
  const persister = persistSnapshots({ paths, snapshots: containers.snapshots, onLine: say });
  // Every pass reads the wishes (applied project, stopped set) with what the runtime shows, so a
  // machine never acts on a wish that a `stop` or `up` has just changed.
  const pass = () => containers.pass().catch((error: unknown) => {
    if (error instanceof SupervisorError && error.reason === 'project-gone') void stop();
    else say(`observing failed: ${(error as Error).message}`);
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let server: Server | undefined;
  let loop: ReturnType<typeof startSyncLoop> | undefined;
  const stopAll = async () => {
    loop?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await unlink(paths.supervisorSocket).catch((error: NodeJS.ErrnoException) => {
      // serveSocket failed before it made the socket, or `down` removed the run dir.
      if (error.code !== 'ENOENT') say(`cannot remove ${paths.supervisorSocket}: ${error.message}; the next supervisor replaces it`);
    });
    containers.stopAll();
    // Before the lock goes: a `down` waiting for it removes events.jsonl, which a late append would make again.
    await events.settled();
    await persister.close();
    native.unlockFile(lockFd);
    resolveStopped();
  };

  try {
    await containers.pass();
    server = await serveSocket(paths.supervisorSocket, requestHandler({ containers, wake: () => loop?.wake(), stop }));
    loop = startSyncLoop({ exitsDir: paths.exits, pass, onLine: say });
  } catch (error) {
    await stop();
    throw error;
  }
  return { willRestart: containers.willRestart, stop, stopped };
}
