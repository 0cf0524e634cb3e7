import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ContainerEvent, eventsOnMachine, eventsOnObservation, factAfter, factsAfter } from '../../src/supervisor/container-events.js';
import { EVENTS_KEPT, eventLog, parseEvents, readEvents } from '../../src/state/events-log.js';
import { StateReadError } from '../../src/state/errors.js';

// Events derived from what the supervisor sees change, and the bounded log that keeps them.

const derived = suite('container events: from one look to the next');

const actions = (told: { action: string }[]) => told.map((event) => event.action);

derived('a new running container: create then start with its pid; nothing more on the same look', () => {
  const told = eventsOnObservation(undefined, { status: 'running', pid: 42 });
  assert.equal(told, [{ action: 'create', attributes: {} }, { action: 'start', attributes: { pid: 42 } }]);
  let facts: ReturnType<typeof factAfter> = undefined;
  for (const event of told) facts = factAfter(facts, event);
  assert.equal(eventsOnObservation(facts, { status: 'running', pid: 42 }), []);
});

derived('died with a code; a new process missed in between is a die then a start', () => {
  const running = { status: 'running' as const, pid: 42 };
  assert.equal(eventsOnObservation(running, { status: 'exited', exitCode: 3 }), [{ action: 'die', attributes: { exitCode: 3 } }]);
  assert.equal(actions(eventsOnObservation(running, { status: 'running', pid: 43 })), ['die', 'start']);
  assert.equal(actions(eventsOnObservation({ status: 'exited' }, { status: 'running', pid: 44 })), ['start']);
});

derived('an OOM kill: told before the die of the process it killed, once; last while that process still runs', () => {
  const running = { status: 'running' as const, pid: 42 };
  assert.equal(actions(eventsOnObservation(running, { status: 'exited', exitCode: 137, oom: true })), ['oom', 'die']);
  assert.equal(actions(eventsOnObservation(undefined, { status: 'exited', exitCode: 137, oom: true })), ['create', 'start', 'oom', 'die'], 'first seen after it ended');
  // The killer took a child only: the container runs on, and the oom is told once for this process.
  const afterChild = eventsOnObservation(running, { status: 'running', pid: 42, oom: true });
  assert.equal(actions(afterChild), ['oom']);
  const facts = afterChild.reduce<ReturnType<typeof factAfter>>((before, event) => factAfter(before, event), running);
  assert.equal(eventsOnObservation(facts, { status: 'running', pid: 42, oom: true }), [], 'not told twice');
  assert.equal(actions(eventsOnObservation(facts, { status: 'exited', exitCode: 137, oom: true })), ['die'], 'its later death is a die only');
  // A restart missed in between: each launch removes the record, so one seen now is the new process's.
  assert.equal(actions(eventsOnObservation(facts, { status: 'running', pid: 43, oom: true })), ['die', 'start', 'oom']);
  assert.equal(actions(eventsOnObservation({ status: 'exited', oom: true }, { status: 'running', pid: 44 })), ['start']);
});

derived('pause and unpause; destroy when it is gone; nothing for what was never told and is not there', () => {
  assert.equal(actions(eventsOnObservation({ status: 'running', pid: 1 }, { status: 'paused', pid: 1 })), ['pause']);
  assert.equal(actions(eventsOnObservation({ status: 'paused', pid: 1 }, { status: 'running', pid: 1 })), ['unpause']);
  assert.equal(actions(eventsOnObservation({ status: 'exited' }, undefined)), ['destroy']);
  assert.equal(eventsOnObservation(undefined, undefined), []);
  assert.equal(actions(eventsOnObservation(undefined, { status: 'created' })), ['create']);
  assert.equal(actions(eventsOnObservation({ status: 'running', pid: 1 }, undefined)), ['die', 'destroy'], 'removed while it ran');
  assert.equal(eventsOnObservation(undefined, { status: 'exited', exitCode: 3 }), [{ action: 'create', attributes: {} }, { action: 'start', attributes: {} }, { action: 'die', attributes: { exitCode: 3 } }], 'first seen after it ended');
});

derived('machine changes: a new health once, a restart once per scheduled restart', () => {
  const facts = { status: 'running' as const, pid: 1 };
  assert.equal(eventsOnMachine(facts, { health: 'healthy', inBackoff: false, restartCount: 0, backoffMs: 0 }), [{ action: 'health_status', attributes: { health: 'healthy' } }]);
  assert.equal(eventsOnMachine({ ...facts, health: 'healthy' }, { health: 'healthy', inBackoff: false, restartCount: 0, backoffMs: 0 }), []);
  assert.equal(eventsOnMachine({ status: 'exited' }, { inBackoff: true, restartCount: 0, backoffMs: 300 }), [{ action: 'restart', attributes: { restartCount: 1, backoffMs: 300 } }]);
  assert.equal(eventsOnMachine({ status: 'exited', restartCount: 1 }, { inBackoff: true, restartCount: 0, backoffMs: 300 }), []);
});

derived('a checkpoint is told before the die it caused, a restore before its start (which names the checkpoint); each once', () => {
  const at = '2026-11-30T12:00:00.000Z';
  const dumped = eventsOnObservation({ status: 'running', pid: 7 }, { status: 'exited', exitCode: 137, checkpoint: { checkpointedAt: at, leftRunning: false } });
  assert.equal(actions(dumped), ['checkpoint', 'die']);
  assert.equal(dumped[0]!.attributes, { checkpointedAt: at });
  let facts: ReturnType<typeof factAfter> = { status: 'running', pid: 7 };
  for (const event of dumped) facts = factAfter(facts, event);
  assert.equal(eventsOnObservation(facts, { status: 'exited', exitCode: 137, checkpoint: { checkpointedAt: at, leftRunning: false } }), [], 'told once');
  const back = { checkpointedAt: at, leftRunning: false, restoredAt: '2026-11-30T12:05:00.000Z', restoredPid: 9 };
  const restored = eventsOnObservation(facts, { status: 'running', pid: 9, checkpoint: back });
  assert.equal(restored, [{ action: 'restore', attributes: { checkpointedAt: at, restoredAt: back.restoredAt } }, { action: 'start', attributes: { pid: 9, restoredFrom: at } }]);
  for (const event of restored) facts = factAfter(facts, event);
  assert.equal(eventsOnObservation(facts, { status: 'running', pid: 9, checkpoint: back }), [], 'told once');
  assert.equal(actions(eventsOnObservation(facts, { status: 'running', pid: 10, checkpoint: back })), ['die', 'start'], 'a later restart of it is no restore');
  const kept = eventsOnObservation({ status: 'running', pid: 7 }, { status: 'running', pid: 7, checkpoint: { checkpointedAt: at, leftRunning: true } });
  assert.equal(kept, [{ action: 'checkpoint', attributes: { checkpointedAt: at, leftRunning: 'true' } }], '--leave-running: no die');
});

derived('a successor supervisor continues from the facts the kept events tell', () => {
  const at = (action: ContainerEvent['action'], resource: string, attributes: ContainerEvent['attributes'] = {}): ContainerEvent => ({ time: '2026-11-30T07:00:00.000Z', action, resource, attributes });
  const facts = factsAfter([at('create', 'web/app'), at('start', 'web/app', { pid: 7 }), at('create', 'old/x'), at('destroy', 'old/x'), at('health_status', 'web/app', { health: 'healthy' })]);
  assert.equal([...facts.keys()], ['web/app']);
  assert.equal(facts.get('web/app'), { status: 'running', pid: 7, health: 'healthy' });
  assert.equal(eventsOnObservation(facts.get('web/app'), { status: 'running', pid: 7 }), []);
});

derived.run();

const kept = suite('events.jsonl: appended, bounded, read back');

const event = (index: number): ContainerEvent => ({ time: new Date(Date.UTC(2026, 10, 30, 7, 0, 0, index)).toISOString(), action: 'start', resource: 'web/app', attributes: { pid: index } });

kept('appends in order; past twice the kept number it is rewritten down to the newest kept', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-events-'));
  try {
    const file = path.join(dir, 'events.jsonl');
    const log = eventLog(file, []);
    for (let index = 0; index < 2 * EVENTS_KEPT; index++) void log.append([event(index)]);
    await log.settled();
    assert.is((await readEvents(file)).length, 2 * EVENTS_KEPT);
    await log.append([event(2 * EVENTS_KEPT)]);
    const after = await readEvents(file);
    assert.is(after.length, EVENTS_KEPT);
    assert.equal(after.at(-1), event(2 * EVENTS_KEPT));
    assert.equal(after[0], event(EVENTS_KEPT + 1));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

kept('a last line still being written is not an event yet; a corrupt line is an error naming the file and line', async () => {
  const line = `${JSON.stringify(event(1))}\n`;
  assert.equal(parseEvents('/x/events.jsonl', `${line}{"time":"2026-11-30T07`), [event(1)]);
  try {
    parseEvents('/x/events.jsonl', `${line}not json\n${line}`);
    assert.unreachable('a corrupt line was taken');
  } catch (error) {
    assert.instance(error, StateReadError);
    assert.match(String(error), /\/x\/events\.jsonl is corrupt/);
  }
  try {
    parseEvents('/x/events.jsonl', `${line}{"time":"t"}\n`);
    assert.unreachable('a line of another shape was taken');
  } catch (error) {
    assert.match(String(error), /an event on line 2/);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-events-'));
  try {
    assert.equal(await readEvents(path.join(dir, 'none.jsonl')), [], 'no file: no events yet');
    await writeFile(path.join(dir, 'events.jsonl'), line);
    assert.equal(await readEvents(path.join(dir, 'events.jsonl')), [event(1)]);
    assert.is(await readFile(path.join(dir, 'events.jsonl'), 'utf8'), line);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

kept.run();
