import type { RuntimeContext } from '../runtime/context.js';
import { followProjectLogs } from '../runtime/follow-logs.js';
import { shutdownSupervisor } from '../supervisor/launch.js';
import { startSupervisor } from '../supervisor/supervisor.js';
import { withProjectLock } from '../state/lock.js';
import { tearDownProject } from './teardown.js';

// A project in the foreground (`up` without -d, `watch`): this process supervises it, streams its
// containers' output, and takes it down at the end (Ctrl-C, or every container exited).

/**
 * Whether to go on: false once SIGINT or SIGTERM came, which no longer end the process. `on`, not
 * `once`: execa's signal-exit re-raises a signal that no other listener handles, and a `once`
 * listener is gone by the time it looks.
 */
export function stopOnSignals(): () => boolean {
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => !stopping;
}

export interface ForegroundSession {
  /** Streams the output of these containers (`pod/container`; all when omitted) until they exit or the session ends. */
  follow(options?: { only?: readonly string[]; prefix?: boolean }): Promise<void>;
  /** Says `line`, stops supervising, takes the project down (under the lock), and waits for the streams. */
  end(line: string): Promise<void>;
}

/** Takes supervision over from a detached supervisor, if one runs, into this process. */
export async function startForegroundSession(context: RuntimeContext, options: { onLine: (line: string) => void; keepGoing: () => boolean }): Promise<ForegroundSession> {
  const say = options.onLine;
  await shutdownSupervisor(context);
  const supervisor = await startSupervisor(context, { onLine: say });
  const streams: Promise<void>[] = [];
  return {
    follow(which = {}) {
      const stream = followProjectLogs(context, { ...which, keepGoing: options.keepGoing, willRestart: (resource) => supervisor.willRestart(resource), onLine: say });
      streams.push(stream);
      return stream;
    },
    async end(line) {
      say(line);
      await supervisor.stop();
      await withProjectLock(context.paths.lock, () => tearDownProject(context, { onProgress: say }));
      await Promise.allSettled(streams);
    },
  };
}
