import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, waitFor } from 'xstate';
import { containerMachine, topState, type ContainerEvent } from '../../machines/container.js';

// The container machine without containers: fake actors record the runtime calls, so each scenario
// asserts which steps run, in which order, and where the machine settles.

const transitions = suite('container machine transitions');

function harness(options: { failOn?: string } = {}) {
  const calls: string[] = [];
  const step = <T>(name: string, output: T) => fromPromise<T, { id: string; hash?: string }>(async ({ input }) => {
    calls.push(input.hash ? `${name}:${input.hash}` : name);
    if (options.failOn === name) throw new Error(`${name} exploded`);
    return output;
  });
  const machine = containerMachine.provide({
    actors: {
      createContainer: step('create', { pid: 42 }),
      startContainer: step<void>('start', undefined),
      stopContainer: step<{ exitCode?: number }>('stop', { exitCode: 143 }),
      removeContainer: step<void>('remove', undefined),
      restartContainer: step('restart', { pid: 43 }),
    },
  });
  const actor = createActor(machine, { input: { id: 'p.web.app', resource: 'web/app' } }).start();
  const settle = async (...events: ContainerEvent[]) => {
    for (const event of events) actor.send(event);
    return waitFor(actor, (snapshot) => snapshot.hasTag('settled'), { timeout: 1000 });
  };
  return { calls, actor, settle };
}

const scenarios: { name: string; events: ContainerEvent[]; failOn?: string; calls: string[]; state: string }[] = [
  {
    name: 'absent and wanted running: create, then start',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'absent' }],
    calls: ['create:h1', 'start'], state: 'running',
  },
  {
    name: 'running with the same hash: nothing happens',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'running', hash: 'h1', pid: 7 }],
    calls: [], state: 'running',
  },
  {
    name: 'running with another hash: stop, remove, create, start',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h2' }, { type: 'OBSERVED', status: 'running', hash: 'h1', pid: 7 }],
    calls: ['stop', 'remove', 'create:h2', 'start'], state: 'running',
  },
  {
    name: 'running and wanted removed: stop, then remove',
    events: [{ type: 'DESIRED', state: 'removed' }, { type: 'OBSERVED', status: 'running', hash: 'h1' }],
    calls: ['stop', 'remove'], state: 'removed',
  },
  {
    name: 'exited and wanted removed: remove without stopping',
    events: [{ type: 'DESIRED', state: 'removed' }, { type: 'OBSERVED', status: 'exited', hash: 'h1', exitCode: 3 }],
    calls: ['remove'], state: 'removed',
  },
  {
    name: 'created and wanted running: start only',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'created', hash: 'h1' }],
    calls: ['start'], state: 'running',
  },
  {
    name: 'paused and unchanged: stays paused (no start, no restart)',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'paused', hash: 'h1', pid: 7 }],
    calls: [], state: 'paused',
  },
  {
    name: 'running, then seen paused: paused, nothing called',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'running', hash: 'h1', pid: 7 }, { type: 'OBSERVED', status: 'paused', hash: 'h1', pid: 7 }],
    calls: [], state: 'paused',
  },
  {
    name: 'paused, then seen thawed: running again',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'paused', hash: 'h1', pid: 7 }, { type: 'OBSERVED', status: 'running', hash: 'h1', pid: 7 }],
    calls: [], state: 'running',
  },
  {
    name: 'paused and wanted removed: stop (which thaws), then remove',
    events: [{ type: 'DESIRED', state: 'removed' }, { type: 'OBSERVED', status: 'paused', hash: 'h1', pid: 7 }],
    calls: ['stop', 'remove'], state: 'removed',
  },
  {
    name: 'paused with another hash: stop, remove, create, start',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h2' }, { type: 'OBSERVED', status: 'paused', hash: 'h1', pid: 7 }],
    calls: ['stop', 'remove', 'create:h2', 'start'], state: 'running',
  },
  {
    name: 'exited and unchanged: stays exited',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'exited', hash: 'h1', exitCode: 3 }],
    calls: [], state: 'exited',
  },
  {
    name: 'exited and asked to START: restarted in place',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'exited', hash: 'h1', exitCode: 3 }, { type: 'START' }],
    calls: ['restart'], state: 'running',
  },
  {
    name: 'absent and wanted removed: nothing to do',
    events: [{ type: 'DESIRED', state: 'removed' }, { type: 'OBSERVED', status: 'absent' }],
    calls: [], state: 'removed',
  },
  {
    name: 'create fails: failed, with no start',
    events: [{ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'absent' }],
    failOn: 'create', calls: ['create:h1'], state: 'failed',
  },
];

for (const scenario of scenarios) {
  transitions(scenario.name, async () => {
    const { calls, settle } = harness({ failOn: scenario.failOn });
    const snapshot = await settle(...scenario.events);
    assert.is(topState(snapshot), scenario.state, 'settles in the expected state');
    assert.equal(calls, scenario.calls, 'runs the expected runtime steps in order');
  });
}

transitions('a failure keeps the runtime message, and a wish to remove cleans up', async () => {
  const { calls, settle } = harness({ failOn: 'start' });
  const failed = await settle({ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'absent' });
  assert.is(failed.context.error, 'start exploded', 'the error message is in context');
  const removed = await settle({ type: 'DESIRED', state: 'removed' });
  assert.is(topState(removed), 'removed', 'a failed container can be removed');
  assert.equal(calls, ['create:h1', 'start', 'remove'], 'remove runs once, no retry loop');
});

transitions('a running container seen exited records its exit code', async () => {
  const { settle, actor } = harness();
  await settle({ type: 'DESIRED', state: 'running', hash: 'h1' }, { type: 'OBSERVED', status: 'running', hash: 'h1', pid: 7 });
  actor.send({ type: 'OBSERVED', status: 'exited', hash: 'h1', exitCode: 3 });
  const snapshot = actor.getSnapshot();
  assert.is(topState(snapshot), 'exited', 'moves to exited');
  assert.is(snapshot.context.exitCode, 3, 'keeps the exit code');
});

transitions.run();
