import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSyncLoop, type SyncLoop } from '../../src/supervisor/sync-loop.js';

// The supervisor's wake-ups on a real exits dir (inotify): a burst of exit files is one pass, a wake
// runs at once, wake-ups during a pass make exactly one more, the poll runs passes when nothing wakes.

const NO_POLL_MS = 60_000;

interface Context {
  dir: string;
  loops: SyncLoop[];
}

const loop = suite<Context>('supervisor: the sync loop');

loop.before.each(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-test-sync-loop-');
  context.loops = [];
});

loop.after.each(async (context) => {
  for (const started of context.loops) started.stop();
  await rm(context.dir, { recursive: true, force: true });
});

function passes(passMs = 0) {
  let count = 0;
  let running = 0;
  let maxRunning = 0;
  const pass = async () => {
    count++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(passMs);
    running--;
  };
  return { pass, count: () => count, maxRunning: () => maxRunning };
}

function start(context: Context, options: Omit<Parameters<typeof startSyncLoop>[0], 'exitsDir' | 'onLine'> & { exitsDir?: string; lines?: string[] }): SyncLoop {
  const started = startSyncLoop({ exitsDir: context.dir, onLine: (line) => options.lines?.push(line), ...options });
  context.loops.push(started);
  return started;
}

loop('a burst of exit files is one pass', async (context) => {
  const record = passes();
  start(context, { pass: record.pass, quietMs: 30, pollMs: NO_POLL_MS });
  for (let exit = 0; exit < 8; exit++) await writeFile(path.join(context.dir, `project.pod.c${exit}`), '0');
  await sleep(150);
  assert.is(record.count(), 1, 'eight exit files written within the quiet time wake one pass');
  await writeFile(path.join(context.dir, 'project.pod.late'), '1');
  await sleep(150);
  assert.is(record.count(), 2, 'an exit after the pass wakes another');
});

loop('a wake runs a pass at once, without the quiet time', async (context) => {
  const record = passes();
  const started = start(context, { pass: record.pass, quietMs: 5_000, pollMs: NO_POLL_MS });
  started.wake();
  await sleep(20);
  assert.is(record.count(), 1, 'the pass ran well before the quiet time would have ended');
});

loop('wake-ups during a pass make exactly one more, never two at once', async (context) => {
  const record = passes(80);
  const started = start(context, { pass: record.pass, pollMs: NO_POLL_MS });
  started.wake();
  await sleep(20);
  for (let wake = 0; wake < 5; wake++) started.wake();
  await writeFile(path.join(context.dir, 'project.pod.app'), '0');
  await sleep(300);
  assert.is(record.count(), 2, 'the first pass and one more');
  assert.is(record.maxRunning(), 1, 'never two passes at once');
});

loop('the poll runs passes when nothing wakes the loop', async (context) => {
  const record = passes();
  start(context, { pass: record.pass, pollMs: 30 });
  await sleep(140);
  assert.ok(record.count() >= 2, `passes every 30 ms: ${record.count()} in 140 ms`);
});

loop('no pass after stop', async (context) => {
  const record = passes();
  const started = start(context, { pass: record.pass, quietMs: 10, pollMs: 20 });
  started.stop();
  await writeFile(path.join(context.dir, 'project.pod.app'), '0');
  started.wake();
  await sleep(80);
  assert.is(record.count(), 0, 'neither the exit file, the wake nor the poll ran a pass');
});

loop('without the exits dir the poll takes over, and a line says so', async (context) => {
  const record = passes();
  const lines: string[] = [];
  const missing = path.join(context.dir, 'exits');
  start(context, { exitsDir: missing, pass: record.pass, pollMs: 30, lines });
  assert.equal(lines, [`cannot watch ${missing}: the exits dir is gone; exits are seen by the 0.03s poll instead`], 'says what and why');
  await sleep(100);
  assert.ok(record.count() >= 1, 'the poll still runs passes');
});

loop.run();
