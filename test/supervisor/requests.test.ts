import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { requestHandler } from '../../src/supervisor/requests.js';
import type { SupervisorRequest } from '../../src/supervisor/socket.js';
import type { ContainerSnapshot } from '../../src/state/snapshots.js';

// What each request on the supervisor's socket does, and that every one is answered at once.

const requests = suite('supervisor: requests on its socket');

const snapshots: Record<string, ContainerSnapshot> = { 'web/app': { state: 'running', restartCount: 1, backoffMs: 10_000 } };

function recorder() {
  const done: string[] = [];
  const handle = requestHandler({
    containers: { restart: (resources) => done.push(`restart ${resources.join(' ')}`), snapshots: () => snapshots },
    wake: () => done.push('wake'),
    stop: async () => {
      done.push('stop');
    },
    pid: 4242,
  });
  return { handle, done };
}

const cases: { request: SupervisorRequest; answer: object; done: string[] }[] = [
  { request: { op: 'reload' }, answer: { ok: true, pid: 4242 }, done: ['wake'] },
  { request: { op: 'restart', resources: ['web/app', 'db/pg'] }, answer: { ok: true, pid: 4242 }, done: ['restart web/app db/pg'] },
  { request: { op: 'status' }, answer: { ok: true, pid: 4242, containers: snapshots }, done: [] },
  { request: { op: 'ping' }, answer: { ok: true, pid: 4242 }, done: [] },
  { request: { op: 'shutdown' }, answer: { ok: true, pid: 4242 }, done: ['stop'] },
];

for (const { request, answer, done } of cases) {
  requests(`${request.op}: answered with ${JSON.stringify(answer)}, then ${done.join(', ') || 'nothing more'}`, async () => {
    const record = recorder();
    assert.equal(await record.handle(request), answer, 'the answer');
    await nextTurn();
    assert.equal(record.done, done, 'what the request started');
  });
}

requests('shutdown stops only after its answer is given', async () => {
  const record = recorder();
  await record.handle({ op: 'shutdown' });
  assert.equal(record.done, [], 'not stopped yet when the answer is ready (stopping closes the socket)');
  await nextTurn();
  assert.equal(record.done, ['stop'], 'stopped on the next turn');
});

requests.run();
