import type { LogRecord } from './logs.js';

// Which records `logs --since T --until T --tail N` shows, as docker compose reads those flags:
// a time is an RFC 3339 date, a Unix time in seconds (fraction allowed), or a duration back from
// now in Go's form (`42s`, `10m`, `1h30m`); `--tail` counts whole lines per container.

export interface LogWindow {
  /** Only records written at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
  /** Only records written before this time (ms since the epoch). */
  readonly untilMs?: number;
  /** Only the last N lines of what was already written (a followed log then goes on in full). */
  readonly tail?: number;
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** ms of a Go duration (`1h30m`, `90s`, `1.5h`), or undefined when the text is not one. */
function durationMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * DURATION_UNIT_MS[part[2]!]!, 0);
}

/** The forms parseLogTime reads, for the message when a value is none of them. */
export const LOG_TIME_FORMS = 'a date (2026-11-30T08:00:00Z), Unix seconds (1796025600) or a duration back from now (10m, 1h30m)';

/** A `--since`/`--until` value as ms since the epoch; undefined when it is none of LOG_TIME_FORMS. */
export function parseLogTime(text: string, nowMs: number): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const back = durationMs(trimmed);
  if (back !== undefined) return nowMs - back;
  // A date alone (2026-11-30) or a date and time; a time without a zone is taken as UTC, as docker does.
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(trimmed)) {
    const zoned = /T.*(Z|[+-]\d{2}:\d{2})$/.test(trimmed) || !trimmed.includes('T') ? trimmed : `${trimmed}Z`;
    const ms = Date.parse(zoned);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

/** Whether a record was written inside the window's times (a record whose time cannot be read is kept). */
export function isInsideWindow(record: LogRecord, window: LogWindow): boolean {
  if (window.sinceMs === undefined && window.untilMs === undefined) return true;
  const ms = Date.parse(record.time);
  if (Number.isNaN(ms)) return true;
  return (window.sinceMs === undefined || ms >= window.sinceMs) && (window.untilMs === undefined || ms < window.untilMs);
}
