import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { type ActorInput, containerMachine, policyRestarts, topState, type ContainerEvent } from '../../machines/container.js';
import { healthMachine, type ProbeInput, type ProbeOutcome } from '../../machines/health.js';
import type { Healthcheck, RestartPolicy } from '../../src/project/model.js';

// Restart policies, CrashLoopBackOff delays and health, decided by the machines alone: fake runtime
// actors, a simulated clock, no containers and no waiting.

const restarts = suite('restart policy and backoff');
const BACKOFF = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

function crashingContainer(restart: RestartPolicy) {
  const calls: string[] = [];
  const clock = new SimulatedClock();
  const machine = containerMachine.provide({
    actors: {
      createContainer: fromPromise<{ pid: number }, ActorInput>(async () => ({ pid: 1 })),
      startContainer: fromPromise<void, ActorInput>(async () => undefined),
      stopContainer: fromPromise<{ exitCode?: number }, ActorInput>(async () => {
        calls.push('stop');
        return { exitCode: 143 };
      }),
      removeContainer: fromPromise<void, ActorInput>(async () => undefined),
      restartContainer: fromPromise<{ pid: number }, ActorInput>(async () => {
        calls.push('restart');
        return { pid: 2 };
      }),
    },
  });
  const actor = createActor(machine, { input: { id: 'p.web.app', resource: 'web/app', restart, backoff: BACKOFF }, clock }).start();
  actor.send({ type: 'DESIRED', state: 'running', hash: 'h' });
  actor.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 1 });
  const settled = () => waitFor(actor, (snapshot) => snapshot.hasTag('settled'), { timeout: 1000 });
  const exit = async (exitCode: number, ranForMs = 1000) => {
    actor.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode, ranForMs } satisfies ContainerEvent);
    return settled();
  };
  const elapse = async (ms: number) => {
    clock.increment(ms);
    return settled();
  };
  return { actor, calls, exit, elapse, settled };
}

restarts('policyRestarts follows docker: no, always, unless-stopped, on-failure[:max]', () => {
  assert.is(policyRestarts({ name: 'no' }, 1, 0), false);
  assert.is(policyRestarts({ name: 'always' }, 0, 99), true);
  assert.is(policyRestarts({ name: 'unless-stopped' }, 0, 0), true);
  assert.is(policyRestarts({ name: 'on-failure' }, 0, 0), false, 'exit 0 is not a failure');
  assert.is(policyRestarts({ name: 'on-failure' }, 2, 50), true);
  assert.is(policyRestarts({ name: 'on-failure', maxRetries: 2 }, 1, 1), true);
  assert.is(policyRestarts({ name: 'on-failure', maxRetries: 2 }, 1, 2), false);
});

restarts('restart: no leaves a crashed container exited', async () => {
  const { exit, calls } = crashingContainer({ name: 'no' });
  const snapshot = await exit(1);
  assert.is(topState(snapshot), 'exited');
  assert.equal(calls, []);
});

restarts('always: each crash waits a doubling delay, capped at the maximum', async () => {
  const { exit, elapse, calls, actor } = crashingContainer({ name: 'always' });
  const delays: number[] = [];
  for (let crash = 0; crash < 7; crash++) {
    const waiting = await exit(1);
    assert.is(topState(waiting), 'backoff', `crash ${crash + 1} waits`);
    delays.push(waiting.context.backoffMs);
    const early = await elapse(waiting.context.backoffMs - 1);
    assert.is(topState(early), 'backoff', 'not restarted before the delay is over');
    await elapse(1);
    await waitFor(actor, (snapshot) => topState(snapshot) === 'running', { timeout: 1000 });
  }
  assert.equal(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.is(actor.getSnapshot().context.restartCount, 7);
  assert.is(calls.filter((call) => call === 'restart').length, 7);
});

restarts('a run longer than the reset time brings the delay back to the base', async () => {
  const { exit, elapse, actor } = crashingContainer({ name: 'always' });
  for (const delay of [10_000, 20_000]) {
    await exit(1);
    await elapse(delay);
    await waitFor(actor, (snapshot) => topState(snapshot) === 'running', { timeout: 1000 });
  }
  const afterLongRun = await exit(1, 11 * 60_000);
  assert.is(afterLongRun.context.backoffMs, 10_000);
});

restarts('on-failure:2 restarts twice, then stays exited; exit 0 is never restarted', async () => {
  const { exit, elapse, actor } = crashingContainer({ name: 'on-failure', maxRetries: 2 });
  await exit(1);
  await elapse(10_000);
  await exit(1);
  await elapse(20_000);
  const third = await exit(1);
  assert.is(topState(third), 'exited');
  assert.is(third.context.restartCount, 2);
  const clean = crashingContainer({ name: 'on-failure' });
  assert.is(topState(await clean.exit(0)), 'exited');
  assert.ok(actor);
});

restarts('a container the user stopped is not restarted, whatever the policy', async () => {
  const { actor, settled, calls } = crashingContainer({ name: 'always' });
  actor.send({ type: 'DESIRED', state: 'stopped' });
  const stopped = await settled();
  assert.is(topState(stopped), 'exited');
  assert.equal(calls, ['stop']);
});

restarts('a wish turned back to running waits for a look: started by the user (start, restore), no backoff; still exited, the policy restarts it', async () => {
  const { actor, settled, calls, exit } = crashingContainer({ name: 'always' });
  actor.send({ type: 'DESIRED', state: 'stopped' });
  await settled();
  // As the supervisor hears a `corral start` (or `restore`): the new wish first, then what the command did.
  actor.send({ type: 'DESIRED', state: 'running' });
  assert.is(topState(actor.getSnapshot()), 'exited', 'no restart scheduled on the wish alone');
  actor.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 7 });
  assert.is(topState(await settled()), 'running', 'the process the command started is followed');
  assert.equal(calls, ['stop'], 'the machine restarted nothing');
  // The wish is seen: a crash afterwards goes by the policy again.
  assert.is(topState(await exit(1)), 'backoff');
  // A start that left it exited (it failed): the look shows it, and the policy takes over.
  actor.send({ type: 'DESIRED', state: 'stopped' });
  actor.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode: 1 });
  actor.send({ type: 'DESIRED', state: 'running' });
  assert.is(topState(actor.getSnapshot()), 'exited', 'not before the look');
  actor.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode: 1 });
  assert.is(topState(await settled()), 'backoff', 'seen still exited after the wish: restarted by its policy');
});

restarts('unhealthy restarts at once under a restarting policy, not under no', async () => {
  const sick = crashingContainer({ name: 'always' });
  sick.actor.send({ type: 'HEALTH', status: 'unhealthy', output: 'connection refused', pid: 1 });
  const restarted = await waitFor(sick.actor, (snapshot) => topState(snapshot) === 'running' && snapshot.context.restartCount === 1, { timeout: 1000 });
  assert.is(restarted.context.health, undefined, 'health starts over (no healthcheck in this input)');
  assert.equal(sick.calls, ['restart']);
  const kept = crashingContainer({ name: 'no' });
  kept.actor.send({ type: 'HEALTH', status: 'unhealthy', output: 'connection refused', pid: 1 });
  const snapshot = kept.actor.getSnapshot();
  assert.is(topState(snapshot), 'running');
  assert.is(snapshot.context.health, 'unhealthy');
  assert.is(snapshot.context.healthOutput, 'connection refused');
});

restarts.run();

const health = suite('health machine');

const CHECK: Healthcheck = { probe: { kind: 'tcp', host: '127.0.0.1', port: 80 }, intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 5000, startIntervalMs: 500 };

function probed(results: boolean[], healthcheck = CHECK) {
  const clock = new SimulatedClock();
  let index = 0;
  const machine = healthMachine.provide({
    actors: {
      probe: fromPromise<ProbeOutcome, ProbeInput>(async () => {
        const healthy = results[Math.min(index, results.length - 1)]!;
        index++;
        return { healthy, output: healthy ? 'ok' : `failure ${index}` };
      }),
    },
  });
  const actor = createActor(machine, { input: { healthcheck, target: { id: 'x', pid: 1 } }, clock }).start();
  const tick = async (ms: number) => {
    clock.increment(ms);
    await new Promise((resolve) => setImmediate(resolve));
    return actor.getSnapshot().context;
  };
  return { tick, actor };
}

health('failures in the start period do not count; retries failures after it make it unhealthy', async () => {
  const { tick } = probed([false]);
  let context = await tick(0);
  for (let step = 0; step < 9; step++) context = await tick(500); // probes at start_interval until 4.5 s
  assert.is(context.probes, 9, 'probed every start_interval');
  assert.is(context.status, 'starting', 'still starting');
  assert.is(context.failures, 0, 'no failure counted during the start period');
  context = await tick(500);
  context = await tick(1000);
  assert.is(context.failures, 2, 'failures count from the end of the start period, probed every interval');
  assert.is(context.status, 'starting', 'two failures are not enough');
  context = await tick(1000);
  assert.is(context.status, 'unhealthy', 'the third failure is');
  assert.is(context.lastOutput.startsWith('failure'), true);
});

health('one success makes it healthy, and a success resets the failure count', async () => {
  const { tick } = probed([false, false, true, false, false, true], { ...CHECK, startPeriodMs: 0 });
  const statuses: string[] = [];
  for (let step = 0; step < 6; step++) statuses.push((await tick(1000)).status);
  assert.equal(statuses, ['starting', 'starting', 'healthy', 'healthy', 'healthy', 'healthy']);
});

health.run();
