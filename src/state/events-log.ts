import { appendFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { StateWriteError } from './errors.js';
import { isRecord, parseStateJson, readStateText } from './read.js';

// The project's recent container events (events.jsonl, one JSON event per line), which `corral
// events --since` replays and a successor supervisor continues from. A bounded ring: the supervisor,
// its only writer, appends, and rewrites the file down to the newest EVENTS_KEPT once it holds twice
// that many, so an append stays one small write and the file stays small.

export type ContainerAction = 'create' | 'start' | 'oom' | 'die' | 'pause' | 'unpause' | 'health_status' | 'restart' | 'destroy' | 'checkpoint' | 'restore';

/** One event as kept (supervisor/container-events.ts says when each is told). */
export interface ContainerEvent {
  /** ISO 8601, ms. */
  readonly time: string;
  readonly action: ContainerAction;
  /** `pod/container`. */
  readonly resource: string;
  /** Details: pid, exitCode, health, restartCount, backoffMs, checkpointedAt, restoredFrom. */
  readonly attributes: Readonly<Record<string, string | number>>;
}

/** How many events are kept for replay (--since) at least. */
export const EVENTS_KEPT = 1000;

const eventsFix = (file: string) => `remove it (rm ${file}); only the replay of past events (--since) is lost, new events are written again`;

const isEvent = (value: unknown): value is ContainerEvent => isRecord(value) && typeof value.time === 'string' && typeof value.action === 'string' && typeof value.resource === 'string' && isRecord(value.attributes);

/**
 * The events in `text` (read from `file`), oldest first. A last line without its newline is an
 * append still being written, not yet an event; any other line that is not an event is corruption.
 */
export function parseEvents(file: string, text: string): ContainerEvent[] {
  const lines = text.split('\n');
  lines.pop();
  return lines.map((line, index) => parseStateJson<ContainerEvent>(file, line, { fix: eventsFix(file), isValid: isEvent, shape: `an event on line ${index + 1} ({"time", "action", "resource", "attributes"})` }));
}

/** The events kept for the project, oldest first; none when there is no file yet. */
export async function readEvents(file: string): Promise<ContainerEvent[]> {
  const text = await readStateText(file, eventsFix(file));
  return text === undefined ? [] : parseEvents(file, text);
}

export interface EventLog {
  /** Appends in order (appends never overlap); a failed write is a StateWriteError, the file keeps what it had. */
  append(events: readonly ContainerEvent[]): Promise<void>;
  /** Settles once every append asked for so far is done (written or failed). */
  settled(): Promise<void>;
}

/** The log of `file` for its one writer, which has read `kept` (the events there now). */
export function eventLog(file: string, kept: readonly ContainerEvent[]): EventLog {
  let recent = [...kept];
  let queue = Promise.resolve();
  const write = async (events: readonly ContainerEvent[]) => {
    recent.push(...events);
    const lines = (list: readonly ContainerEvent[]) => list.map((event) => `${JSON.stringify(event)}\n`).join('');
    try {
      if (recent.length > 2 * EVENTS_KEPT) {
        recent = recent.slice(-EVENTS_KEPT);
        await writeFileAtomic(file, lines(recent));
      } else {
        await appendFile(file, lines(events), { mode: 0o600 });
      }
    } catch (error) {
      if (error instanceof StateWriteError) throw error;
      throw new StateWriteError(file, error as NodeJS.ErrnoException);
    }
  };
  return {
    append(events) {
      if (events.length === 0) return queue;
      const next = queue.then(() => write(events));
      // The chain goes on after a failed write; the caller hears of the failure through `next`.
      queue = next.catch(() => undefined);
      return next;
    },
    settled: () => queue,
  };
}
