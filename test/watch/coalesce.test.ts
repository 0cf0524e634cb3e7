import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { coalesce } from '../../src/watch/coalesce.js';

// Bursts become one apply; a change during an apply queues exactly one more; never two at once.

const coalescing = suite('coalescing changes into applies');

function recorder(applyMs: number) {
  let running = 0;
  let maxRunning = 0;
  let applies = 0;
  const apply = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    applies++;
    await sleep(applyMs);
    running--;
  };
  return { apply, count: () => applies, maxRunning: () => maxRunning };
}

coalescing('a burst of changes is one apply', async () => {
  const record = recorder(5);
  const applies = coalesce(record.apply, 30);
  for (let change = 0; change < 10; change++) {
    applies.poke();
    await sleep(2);
  }
  await sleep(40);
  await applies.idle();
  assert.is(record.count(), 1);
});

coalescing('changes during an apply queue exactly one more, never in parallel', async () => {
  const record = recorder(80);
  const applies = coalesce(record.apply, 5);
  applies.poke();
  await sleep(30);
  for (let change = 0; change < 5; change++) {
    applies.poke();
    await sleep(3);
  }
  await sleep(20);
  await applies.idle();
  assert.is(record.count(), 2, 'the first apply and one more');
  assert.is(record.maxRunning(), 1, 'never two at once');
});

coalescing('stop drops what is waiting', async () => {
  const record = recorder(5);
  const applies = coalesce(record.apply, 50);
  applies.poke();
  applies.stop();
  await applies.idle();
  await sleep(70);
  assert.is(record.count(), 0);
});

coalescing('now applies without the quiet period, and after the running apply when one runs', async () => {
  const record = recorder(40);
  const applies = coalesce(record.apply, 5_000);
  applies.now();
  await sleep(10);
  assert.is(record.count(), 1, 'at once, not after the quiet period');
  applies.now();
  applies.now();
  await applies.idle();
  assert.is(record.count(), 2, 'calls during the apply make exactly one more');
  assert.is(record.maxRunning(), 1, 'never two at once');
  applies.stop();
});

coalescing('flush applies what waits at once and settles when done', async () => {
  const record = recorder(5);
  const applies = coalesce(record.apply, 5_000);
  await applies.flush();
  assert.is(record.count(), 0, 'nothing waited: nothing applied');
  applies.poke();
  await applies.flush();
  assert.is(record.count(), 1, 'the waiting change applied before flush settled');
  applies.stop();
});

coalescing.run();
