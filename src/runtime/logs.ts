import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isInsideWindow, type LogWindow } from './log-window.js';

// conmon writes container output in the k8s-file format, one record per line:
// `2026-11-22T23:39:27.494652095+00:00 stdout F hello`, where F ends a line and P is a partial one.

export interface LogRecord {
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly partial: boolean;
  readonly text: string;
}

/** Parses one k8s-file line; undefined for a line that is not a record. */
export function parseLogLine(line: string): LogRecord | undefined {
  const match = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(line);
  if (!match) return undefined;
  return { time: match[1]!, stream: match[2] as LogRecord['stream'], partial: match[3] === 'P', text: match[4]! };
}

/** Joins partial records into whole lines, as the program wrote them. */
export function joinPartialRecords(records: readonly LogRecord[]): LogRecord[] {
  const lines: LogRecord[] = [];
  let pending: LogRecord | undefined;
  for (const record of records) {
    const text = (pending?.text ?? '') + record.text;
    if (record.partial) pending = { ...record, text };
    else {
      lines.push({ ...record, text, partial: false });
      pending = undefined;
    }
  }
  if (pending) lines.push(pending);
  return lines;
}

export interface FollowOptions {
  /** Keep reading as the file grows until this says stop. Without it, read what is there and return. */
  readonly keepGoing?: () => boolean | Promise<boolean>;
  readonly pollMs?: number;
  /** Only records inside these times, and of what is there at the start only the last `tail` lines. */
  readonly window?: LogWindow;
}

/** Reads a container log from the start, calling `onLine` per whole line; follows it while `keepGoing`. */
export async function readLog(file: string, onLine: (record: LogRecord) => void, options: FollowOptions = {}): Promise<void> {
  let offset = 0;
  let carry = '';
  let first = true;
  const drain = async () => {
    const size = await stat(file).then((info) => info.size, () => 0);
    if (size < offset) offset = 0; // rotated or truncated by conmon
    if (size === offset) {
      first = false;
      return;
    }
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      offset = size;
      const text = carry + buffer.toString('utf8');
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      const window = options.window ?? {};
      let records = joinPartialRecords(lines.map(parseLogLine).filter((record): record is LogRecord => record !== undefined)).filter((record) => isInsideWindow(record, window));
      if (first && window.tail !== undefined) records = window.tail === 0 ? [] : records.slice(-window.tail);
      first = false;
      for (const record of records) onLine(record);
    } finally {
      await handle.close();
    }
  };
  await drain();
  while (options.keepGoing && (await options.keepGoing())) {
    await sleep(options.pollMs ?? 100);
    await drain();
  }
  await drain();
}
