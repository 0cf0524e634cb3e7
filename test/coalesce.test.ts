import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { coalesce } from '../src/coalesce.js';
import { manualClock, type ManualClock } from './helpers/manual-clock.js';

// Bursts become one apply; a change during an apply queues exactly one more; never two at once. The
// quiet periods and the applies' durations run on a clock the test advances, so no check depends on
// how fast a loaded machine gets through the steps.

const coalescing = suite('coalescing changes into applies');

function recorder(clock: ManualClock, applyMs: number) {
  let running = 0;
  let maxRunning = 0;
  let applies = 0;
  const apply = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    applies++;
    await clock.sleep(applyMs);
    running--;
  };
  return { apply, count: () => applies, maxRunning: () => maxRunning };
}

coalescing('a burst of changes is one apply', async () => {
  const clock = manualClock();
  const record = recorder(clock, 5);
  const applies = coalesce(record.apply, { quietMs: 30, timers: clock });
  for (let change = 0; change < 10; change++) {
    if (change > 0) await clock.advance(2);
    applies.poke();
  }
  await clock.advance(29);
  assert.is(record.count(), 0, 'nothing applied before the quiet time after the last change ended');
  await clock.advance(1);
  assert.is(record.count(), 1, 'applied when the quiet time ended');
  await clock.advance(40);
  await applies.idle();
  assert.is(record.count(), 1);
});

coalescing('changes during an apply queue exactly one more, never in parallel', async () => {
  const clock = manualClock();
  const record = recorder(clock, 80);
  const applies = coalesce(record.apply, { quietMs: 5, timers: clock });
  applies.poke();
  await clock.advance(30);
  assert.is(record.count(), 1, 'the first apply runs');
  for (let change = 0; change < 5; change++) {
    applies.poke();
    await clock.advance(3);
  }
  await clock.advance(20);
  assert.is(record.count(), 1, 'the changes wait for the running apply');
  await clock.advance(200);
  await applies.idle();
  assert.is(record.count(), 2, 'the first apply and one more');
  assert.is(record.maxRunning(), 1, 'never two at once');
});

coalescing('stop drops what is waiting', async () => {
  const clock = manualClock();
  const record = recorder(clock, 5);
  const applies = coalesce(record.apply, { quietMs: 50, timers: clock });
  applies.poke();
  applies.stop();
  await applies.idle();
  await clock.advance(70);
  assert.is(record.count(), 0);
});

coalescing('now applies without the quiet period, and after the running apply when one runs', async () => {
  const clock = manualClock();
  const record = recorder(clock, 40);
  const applies = coalesce(record.apply, { quietMs: 5_000, timers: clock });
  applies.now();
  assert.is(record.count(), 1, 'at once, not after the quiet period');
  applies.now();
  applies.now();
  await clock.advance(40);
  assert.is(record.count(), 2, 'right after the running apply');
  await clock.advance(40);
  await applies.idle();
  assert.is(record.count(), 2, 'calls during the apply make exactly one more');
  assert.is(record.maxRunning(), 1, 'never two at once');
  applies.stop();
});

coalescing('flush applies what waits at once and settles when done', async () => {
  const clock = manualClock();
  const record = recorder(clock, 5);
  const applies = coalesce(record.apply, { quietMs: 5_000, timers: clock });
  await applies.flush();
  assert.is(record.count(), 0, 'nothing waited: nothing applied');
  applies.poke();
  const flushed = applies.flush();
  assert.is(record.count(), 1, 'the waiting change applied at once, not after the quiet period');
  let settled = false;
  void flushed.then(() => (settled = true));
  await clock.advance(4);
  assert.is(settled, false, 'flush does not settle while the apply runs');
  await clock.advance(1);
  await flushed;
  assert.is(record.count(), 1, 'the waiting change applied before flush settled');
  applies.stop();
});

coalescing.run();
