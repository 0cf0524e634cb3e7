import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { type ActorInput, containerMachine, type ContainerMachineInput, type ContainerEvent, topState } from '../../machines/container.js';
import { healthMachine, type HealthStatus, type ProbeInput, type ProbeOutcome } from '../../machines/health.js';
import type { Healthcheck } from '../../src/project/model.js';

// Health is about one process: a container that gets a new process (restart in place, start after
// stop, restart by the policy) is `starting` until that process's own probe passes, and failures
// inside its start period do not count. Fake probes answer per pid; a simulated clock drives the
// timers, so each scenario steps through seconds without waiting for them.

// The container: probed every second, one counted failure makes it unhealthy, 20 s of grace.
const LATE: Healthcheck = { probe: { kind: 'exec', argv: ['test', '-f', '/tmp/ready'] }, intervalMs: 1000, timeoutMs: 500, retries: 1, startPeriodMs: 20_000, startIntervalMs: 1000 };

/** A settled turn of the event loop: the fake probes' promises resolve, their results are handled. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const alone = suite('health machine: which process, and since when');

function healthOf(options: { runningForMs?: number; knownStatus?: HealthStatus; answer: (probe: number) => ProbeOutcome }) {
  const clock = new SimulatedClock();
  let probes = 0;
  const machine = healthMachine.provide({
    actors: { probe: fromPromise<ProbeOutcome, ProbeInput>(async () => options.answer(probes++)) },
  });
  const actor = createActor(machine, { input: { healthcheck: LATE, target: { id: 'x', pid: 7 }, runningForMs: options.runningForMs, knownStatus: options.knownStatus }, clock }).start();
  const second = async () => {
    clock.increment(1000);
    await settle();
    return actor.getSnapshot();
  };
  return { actor, second };
}

const failing = () => ({ healthy: false, output: 'not ready' });

alone('the start period counts from the process start: a process past it has its first failure counted', async () => {
  const fresh = healthOf({ answer: failing });
  for (let second = 1; second <= 8; second++) assert.is((await fresh.second()).context.status, 'starting', `a fresh process is starting at ${second} s, failures inside start_period not counted`);
  const old = healthOf({ runningForMs: 20_000, answer: failing });
  assert.is((await old.second()).context.status, 'unhealthy', 'a process that has run for its whole start period is judged at its first failure');
});

alone('a status known for the same process is kept until a probe says otherwise', async () => {
  const healthy = healthOf({ runningForMs: 60_000, knownStatus: 'healthy', answer: () => ({ healthy: true, output: 'ready' }) });
  assert.is(healthy.actor.getSnapshot().context.status, 'healthy', 'healthy from the start, not starting');
  assert.is((await healthy.second()).context.status, 'healthy');
  const unhealthy = healthOf({ runningForMs: 60_000, knownStatus: 'unhealthy', answer: failing });
  assert.is((await unhealthy.second()).context.status, 'unhealthy', 'stays unhealthy while probes fail');
});

// A probe of a paused container is refused by the runtime at once; counted, `corral pause` made a
// container with a healthcheck (retries 1, restart: always) restart within a second (cli/pause-kill).
alone('probes of a paused container count nothing, and probing goes on once it is thawed', async () => {
  const { second } = healthOf({ runningForMs: 60_000, knownStatus: 'healthy', answer: (probe) => (probe < 3 ? { healthy: false, output: 'paused: not probed', paused: true } : failing()) });
  for (let paused = 1; paused <= 3; paused++) {
    const snapshot = await second();
    assert.is(snapshot.context.status, 'healthy', `still healthy after paused probe ${paused}`);
    assert.is(snapshot.context.failures, 0);
  }
  const thawed = await second();
  assert.is(thawed.context.status, 'unhealthy', 'the first real probe after the thaw is judged as ever');
});

alone('a probe that finds its process gone counts nothing and ends the machine', async () => {
  const { second } = healthOf({ runningForMs: 60_000, knownStatus: 'healthy', answer: () => ({ healthy: false, output: 'process 7 is gone', processGone: true }) });
  const snapshot = await second();
  assert.is(snapshot.status, 'done', 'nothing more to say about a process that is gone');
  assert.is(snapshot.value, 'processGone');
  assert.is(snapshot.context.status, 'healthy', 'not counted as a failure');
  assert.is(snapshot.context.failures, 0);
});

alone.run();

const container = suite('container machine: health of each new process');

/**
 * A container with the LATE healthcheck. `ready` holds the pids whose probe passes, `gone` those whose
 * process vanishes under the probe; restarts (by the machine) give pids 200, 201, ... Every health
 * value the machine shows while running is recorded with its pid.
 */
function watchedContainer(input: Partial<ContainerMachineInput> = {}) {
  const clock = new SimulatedClock();
  const ready = new Set<number>();
  const gone = new Set<number>();
  const calls: string[] = [];
  /** The process each restart was decided for (the supervisor leaves a process that replaced it alone). */
  const restartsFor: (number | undefined)[] = [];
  let nextPid = 200;
  const step = <T>(name: string, output: () => T) => fromPromise<T, ActorInput>(async ({ input }) => {
    calls.push(name);
    if (name === 'restart') restartsFor.push(input.pid);
    return output();
  });
  const machine = containerMachine.provide({
    actors: {
      createContainer: step('create', () => ({ pid: nextPid++ })),
      startContainer: step<void>('start', () => undefined),
      stopContainer: step<{ exitCode?: number }>('stop', () => ({ exitCode: 143 })),
      removeContainer: step<void>('remove', () => undefined),
      restartContainer: step('restart', () => ({ pid: nextPid++ })),
      health: healthMachine.provide({
        actors: {
          probe: fromPromise<ProbeOutcome, ProbeInput>(async ({ input: probe }) => {
            const pid = probe.target.pid;
            if (gone.has(pid)) return { healthy: false, output: `process ${pid} is gone`, processGone: true };
            return ready.has(pid) ? { healthy: true, output: 'ready' } : { healthy: false, output: 'not ready' };
          }),
        },
      }),
    },
  });
  const actor = createActor(machine, { input: { id: 'p.web.late', resource: 'web/late', restart: { name: 'always' }, healthcheck: LATE, ...input }, clock }).start();
  const seen: { pid?: number; health?: string }[] = [];
  actor.subscribe((snapshot) => {
    if (topState(snapshot) === 'running') seen.push({ pid: snapshot.context.pid, health: snapshot.context.health });
  });
  actor.send({ type: 'DESIRED', state: 'running', hash: 'h' });
  const send = async (event: ContainerEvent) => {
    actor.send(event);
    await settle();
    return actor.getSnapshot();
  };
  const seconds = async (count: number) => {
    for (let second = 0; second < count; second++) {
      clock.increment(1000);
      await settle();
    }
    return actor.getSnapshot();
  };
  /** The health values shown while `pid` ran, each once, in order. */
  const healthShownFor = (pid: number) => [...new Set(seen.filter((shown) => shown.pid === pid).map((shown) => shown.health))];
  return { actor, ready, gone, calls, restartsFor, send, seconds, healthShownFor };
}

/** A container that ran pid 1 until it was healthy. */
async function healthyOnPid1(input: Partial<ContainerMachineInput> = {}) {
  const harness = watchedContainer(input);
  harness.ready.add(1);
  await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 1, runningForMs: 0 });
  const healthy = await harness.seconds(1);
  assert.is(healthy.context.health, 'healthy', 'pid 1 passed its probe');
  return harness;
}

/** Seconds until the new process passes (it never does before `readyAfter` seconds): only starting, then healthy. */
async function assertStartingUntilReady(harness: Awaited<ReturnType<typeof healthyOnPid1>>, pid: number, readyAfter: number) {
  const late = await harness.seconds(readyAfter);
  assert.is(late.context.health, 'starting', `${readyAfter} s of failing probes inside start_period leave pid ${pid} starting`);
  harness.ready.add(pid);
  const passed = await harness.seconds(1);
  assert.is(passed.context.health, 'healthy', `pid ${pid} is healthy once its own probe passes`);
  assert.is(passed.context.healthPid, pid);
  const shown = harness.healthShownFor(pid);
  assert.equal(shown, ['starting', 'healthy'], `pid ${pid} showed starting, then healthy, never unhealthy nor the health of the process before: ${shown.join(', ')}`);
}

container('a restart in place by someone else (a new pid seen): starting at once, start period counted from it', async () => {
  const harness = await healthyOnPid1();
  const restarted = await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 2, runningForMs: 300 });
  assert.is(topState(restarted), 'running');
  assert.is(restarted.context.health, 'starting', 'the new process is not judged yet');
  assert.is(restarted.context.healthPid, 2);
  await assertStartingUntilReady(harness, 2, 8);
  assert.equal(harness.calls, [], 'failures in the start period restarted nothing, though the policy is always and retries 1');
});

container('a start after a stop: starting, neither the healthy nor the unhealthy of the process before', async () => {
  const harness = await healthyOnPid1();
  await harness.send({ type: 'DESIRED', state: 'stopped' });
  const stopped = await harness.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode: 143 });
  assert.is(topState(stopped), 'exited');
  await harness.send({ type: 'DESIRED', state: 'running' });
  const started = await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 3, runningForMs: 200 });
  assert.is(topState(started), 'running');
  assert.is(started.context.health, 'starting');
  await assertStartingUntilReady(harness, 3, 8);
  assert.equal(harness.calls, ['stop'], 'stopped once, never restarted');
});

container('a restart by the policy: the new process starts over', async () => {
  const harness = await healthyOnPid1();
  await harness.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode: 1, ranForMs: 5000 });
  await harness.seconds(10);
  const restarted = harness.actor.getSnapshot();
  assert.is(topState(restarted), 'running', 'restarted after the 10 s backoff');
  assert.is(restarted.context.healthPid, 200);
  assert.is(restarted.context.health, 'starting');
  await assertStartingUntilReady(harness, 200, 8);
});

container('a restart names the process it was decided for: the unhealthy one, or none after an exit', async () => {
  const harness = await healthyOnPid1();
  await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 2, runningForMs: 25_000 });
  await harness.seconds(1);
  assert.equal(harness.restartsFor, [2], 'pid 2, past its start period, failed its probe: its restart names it');
  await harness.send({ type: 'OBSERVED', status: 'exited', hash: 'h', exitCode: 1, ranForMs: 1000 });
  await harness.seconds(20);
  assert.equal(harness.restartsFor, [2, undefined], 'a restart after an exit names no process');
});

container('a probe overlapping a restart (its process gone) counts against neither process', async () => {
  const harness = await healthyOnPid1();
  harness.gone.add(1);
  const during = await harness.seconds(3);
  assert.is(during.context.health, 'healthy', 'what was known of pid 1 stands until the new process is seen');
  assert.equal(harness.calls, [], 'no restart from a probe of a process that is gone');
  await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 2, runningForMs: 3000 });
  await assertStartingUntilReady(harness, 2, 8);
});

container('a report about an earlier process is dropped', async () => {
  const harness = await healthyOnPid1();
  await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 2, runningForMs: 100 });
  const after = await harness.send({ type: 'HEALTH', status: 'unhealthy', output: 'not ready', pid: 1 });
  assert.is(after.context.health, 'starting');
  assert.equal(harness.calls, [], 'pid 2 is not restarted for what pid 1 did');
});

container('a supervisor taking over keeps the health of the same process, and judges another one afresh', async () => {
  const same = watchedContainer({ health: { status: 'healthy', output: 'ready', pid: 9 } });
  const kept = await same.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 9, runningForMs: 3_600_000 });
  assert.is(kept.context.health, 'healthy', 'a healthy process stays healthy across a takeover');
  same.ready.add(9);
  assert.is((await same.seconds(3)).context.health, 'healthy');
  assert.equal(same.healthShownFor(9), ['healthy'], 'never shown as starting');

  const other = watchedContainer({ health: { status: 'healthy', output: 'ready', pid: 9 } });
  const fresh = await other.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 10, runningForMs: 500 });
  assert.is(fresh.context.health, 'starting', 'the process that ran before the takeover is gone; this one is new');
});

container('a takeover counts the start period from the process start, not from the takeover', async () => {
  const harness = watchedContainer({ restart: { name: 'no' }, health: { status: 'starting', pid: 9 } });
  await harness.send({ type: 'OBSERVED', status: 'running', hash: 'h', pid: 9, runningForMs: 25_000 });
  const judged = await harness.seconds(1);
  assert.is(judged.context.health, 'unhealthy', 'its start period ended before the takeover: the first failure counts');
});

container.run();
