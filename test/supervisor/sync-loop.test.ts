import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSyncLoop, type SyncLoop } from '../../src/supervisor/sync-loop.js';
import { manualClock, type ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/until.js';

// The supervisor's wake-ups on a real exits dir (inotify): a burst of exit files is one pass, a wake
// runs at once, wake-ups during a pass make exactly one more, the poll runs passes when nothing wakes.
// inotify delivers the events in its own time; the quiet time, the poll and a pass's duration run on
// a clock the test advances, so how fast the machine writes or wakes never splits or joins a burst.

const NO_POLL_MS = 60_000;

/**
 * Short real time for a check that nothing happens: inotify events of writes already made arrive
 * within it on an idle machine, and a busy one can only make the check stricter.
 */
const NOTHING_MORE_MS = 80;

interface Context {
  dir: string;
  clock: ManualClock;
  loops: SyncLoop[];
  watchers: FSWatcher[];
}

const loop = suite<Context>('supervisor: the sync loop');

loop.before.each(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-test-sync-loop-');
  context.clock = manualClock();
  context.loops = [];
  context.watchers = [];
});

loop.after.each(async (context) => {
  for (const started of context.loops) started.stop();
  for (const watcher of context.watchers) watcher.close();
  await rm(context.dir, { recursive: true, force: true });
});

function passes(clock: ManualClock, passMs = 0) {
  let count = 0;
  let running = 0;
  let maxRunning = 0;
  const pass = async () => {
    count++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    if (passMs) await clock.sleep(passMs);
    running--;
  };
  return { pass, count: () => count, maxRunning: () => maxRunning };
}

function start(context: Context, options: Omit<Parameters<typeof startSyncLoop>[0], 'exitsDir' | 'onLine' | 'timers'> & { exitsDir?: string; lines?: string[] }): SyncLoop {
  const started = startSyncLoop({ exitsDir: context.dir, onLine: (line) => options.lines?.push(line), timers: context.clock, ...options });
  context.loops.push(started);
  return started;
}

/**
 * Writes exit files and settles once inotify has delivered all their events to the loop. A watcher of
 * the test's own on the same dir tells: libuv hands each inotify event to every watcher of the dir in
 * one go, and a file's last event is its write ('change'), so once this one saw the write of every file,
 * the loop's watcher saw all their events too.
 */
async function writeExits(context: Context, names: readonly string[]): Promise<void> {
  const written = new Set<string>();
  const witness = watch(context.dir, (event, name) => {
    if (event === 'change' && name) written.add(name);
  });
  context.watchers.push(witness);
  for (const name of names) await writeFile(path.join(context.dir, name), '0');
  await until(() => names.every((name) => written.has(name)), `inotify to tell of the exit files ${names.join(', ')}`);
  witness.close();
}

loop('a burst of exit files is one pass', async (context) => {
  const quietMs = 30;
  const record = passes(context.clock);
  start(context, { pass: record.pass, quietMs, pollMs: NO_POLL_MS });
  await writeExits(context, Array.from({ length: 8 }, (_, exit) => `project.pod.c${exit}`));
  await context.clock.advance(quietMs - 1);
  assert.is(record.count(), 0, 'no pass before the quiet time ended');
  await context.clock.advance(1);
  assert.is(record.count(), 1, 'eight exit files written within the quiet time wake one pass');
  await context.clock.advance(10 * quietMs);
  assert.is(record.count(), 1, 'and only one');
  await writeExits(context, ['project.pod.late']);
  await context.clock.advance(quietMs);
  assert.is(record.count(), 2, 'an exit after the pass wakes another');
});

loop('a wake runs a pass at once, without the quiet time', async (context) => {
  const record = passes(context.clock);
  const started = start(context, { pass: record.pass, quietMs: 5_000, pollMs: NO_POLL_MS });
  started.wake();
  assert.is(record.count(), 1, 'the pass ran with the clock not moved at all');
});

loop('wake-ups during a pass make exactly one more, never two at once', async (context) => {
  const record = passes(context.clock, 80);
  const started = start(context, { pass: record.pass, pollMs: NO_POLL_MS });
  started.wake();
  await context.clock.advance(20);
  for (let wake = 0; wake < 5; wake++) started.wake();
  await writeExits(context, ['project.pod.app']);
  await context.clock.advance(300);
  assert.is(record.count(), 2, 'the first pass and one more');
  assert.is(record.maxRunning(), 1, 'never two passes at once');
});

loop('the poll runs passes when nothing wakes the loop', async (context) => {
  const record = passes(context.clock);
  start(context, { pass: record.pass, pollMs: 30 });
  await context.clock.advance(29);
  assert.is(record.count(), 0, 'no pass before the first poll');
  await context.clock.advance(111);
  assert.ok(record.count() >= 2, `passes every 30 ms: ${record.count()} in 140 ms`);
  assert.is(record.count(), 4, 'one a poll: at 30, 60, 90 and 120 ms');
});

loop('no pass after stop', async (context) => {
  const record = passes(context.clock);
  const started = start(context, { pass: record.pass, quietMs: 10, pollMs: 20 });
  started.stop();
  await writeFile(path.join(context.dir, 'project.pod.app'), '0');
  started.wake();
  await sleep(NOTHING_MORE_MS);
  await context.clock.advance(1_000);
  assert.is(record.count(), 0, 'neither the exit file, the wake nor the poll ran a pass');
});

loop('without the exits dir the poll takes over, and a line says so', async (context) => {
  const record = passes(context.clock);
  const lines: string[] = [];
  const missing = path.join(context.dir, 'exits');
  start(context, { exitsDir: missing, pass: record.pass, pollMs: 30, lines });
  assert.equal(lines, [`cannot watch ${missing}: the exits dir is gone; exits are seen by the 0.03s poll instead`], 'says what and why');
  await context.clock.advance(100);
  assert.ok(record.count() >= 1, 'the poll still runs passes');
  assert.is(record.count(), 3, 'one a poll: at 30, 60 and 90 ms');
});

loop.run();
