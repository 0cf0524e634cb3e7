import type { RuntimeContext } from './context.js';
import { readLog } from './logs.js';
import type { LogWindow } from './log-window.js';
import { observeContainer, observeProject } from './observe.js';
import { processRuns } from './proc-stat.js';

// Foreground `up` and `logs -f`: the output of containers as it comes, prefixed with who said it,
// until each container has exited or the caller says stop.

export interface FollowProjectOptions {
  /** Only these containers (`pod/container`); all when empty. */
  readonly only?: readonly string[];
  readonly follow?: boolean;
  readonly keepGoing?: () => boolean;
  /** Whether an exited container will come back (its log then goes on). */
  readonly willRestart?: (resource: string) => boolean;
  readonly onLine: (line: string) => void;
  /** Prefix lines with `pod/container | ` (default when more than one container is shown). */
  readonly prefix?: boolean;
  /** Which lines (times, the last N); default: all. */
  readonly window?: LogWindow;
  /** Start each line with the time conmon recorded it (RFC 3339, nanoseconds). */
  readonly timestamps?: boolean;
}

/** conmon writes the zone as +00:00; docker prints Z. */
const timestampOf = (time: string) => `${time.replace(/\+00:00$/, 'Z')} `;


/** Streams the logs of the project's containers. Returns when all followed containers exited. */
export async function followProjectLogs(context: RuntimeContext, options: FollowProjectOptions): Promise<void> {
  const observed = await observeProject(context);
  // With none named, the project's containers: a one-off of `corral run` is followed only when named
  // (as compose's `logs` and `up` leave one-offs out), so a foreground `up` never waits for one.
  const chosen = observed.containers.filter((container) => (options.only?.length ? options.only.includes(`${container.pod}/${container.name}`) : !container.oneOff));
  const prefix = options.prefix ?? chosen.length > 1;
  const width = Math.max(0, ...chosen.map((container) => container.pod.length + container.name.length + 1));
  const follow = options.follow ?? true;
  await Promise.all(chosen.map((container) => {
    const resource = `${container.pod}/${container.name}`;
    const label = prefix ? `${resource.padEnd(width)} | ` : '';
    const log = context.paths.container(container.id).log;
    let pid = container.pid;
    // The runtime is asked only once the process is gone: a runc call per container per poll would
    // keep a core busy with 50 containers followed.
    const stillRunning = async () => {
      if (!(options.keepGoing?.() ?? true)) return false;
      if (pid !== undefined && processRuns(pid)) return true;
      const now = await observeContainer(context, container.id);
      pid = now.pid;
      return now.status !== 'exited' || (options.willRestart?.(resource) ?? false);
    };
    return readLog(log, (record) => options.onLine(label + (options.timestamps ? timestampOf(record.time) : '') + record.text), {
      keepGoing: follow ? stillRunning : undefined,
      pollMs: 200,
      window: options.window,
    });
  }));
}
