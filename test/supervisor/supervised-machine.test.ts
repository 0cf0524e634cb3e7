import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KUBELET_BACKOFF } from '../../machines/container.js';
import type { ObservedContainer } from '../../src/runtime/observe.js';
import { backoffFromEnvironment, healthBefore, runningForMs } from '../../src/supervisor/supervised-machine.js';

// What the supervisor tells a machine besides what it observes: the backoff the environment asks
// for, how long the process runs, and what the previous supervisor knew of its health.

const machine = suite('supervisor: what a supervised machine is told');

const backoffCases = [
  { env: undefined, expected: KUBELET_BACKOFF },
  { env: '', expected: KUBELET_BACKOFF },
  { env: '100,1000', expected: { baseMs: 100, maxMs: 1000, resetAfterMs: KUBELET_BACKOFF.resetAfterMs } },
  { env: '100,1000,5000', expected: { baseMs: 100, maxMs: 1000, resetAfterMs: 5000 } },
  { env: 'fast,slow', expected: KUBELET_BACKOFF },
];

for (const { env, expected } of backoffCases) {
  machine(`CORRAL_RESTART_BACKOFF=${env ?? '(unset)'}: ${JSON.stringify(expected)}`, () => {
    assert.equal(backoffFromEnvironment(env === undefined ? {} : { CORRAL_RESTART_BACKOFF: env }), expected);
  });
}

const observed = (status: ObservedContainer['status'], created?: string) => ({ status, created }) as ObservedContainer;

machine('runningForMs counts from the runtime\'s create time, for a running process only', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  assert.is(runningForMs(observed('running', '2026-01-01T00:00:00Z'), now), 60_000, 'a minute');
  assert.is(runningForMs(observed('running', '2026-01-01T00:02:00Z'), now), 0, 'a clock step back is not negative');
  assert.is(runningForMs(observed('exited', '2026-01-01T00:00:00Z'), now), undefined, 'an exited one does not run');
  assert.is(runningForMs(observed('running'), now), undefined, 'no create time, no duration');
});

machine('healthBefore carries a health over only with the process it was about', () => {
  assert.equal(healthBefore({ state: 'running', restartCount: 0, backoffMs: 0, health: 'healthy', healthOutput: 'ok', healthPid: 42 }), { status: 'healthy', output: 'ok', pid: 42 });
  assert.is(healthBefore({ state: 'running', restartCount: 0, backoffMs: 0, health: 'healthy' }), undefined, 'no process named (an older supervisor)');
  assert.is(healthBefore({ state: 'running', restartCount: 0, backoffMs: 0, health: 'bogus', healthPid: 42 }), undefined, 'an unknown status');
  assert.is(healthBefore(undefined), undefined, 'nothing known');
});

machine.run();
