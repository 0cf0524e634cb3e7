import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration } from '../../src/project/lifecycle.js';
import { load, loadError } from '../helpers/load.js';

// restart, stop_signal, stop_grace_period, healthcheck and depends_on: from the file to the model,
// and every bad value refused at its line and column.

const lifecycle = suite('lifecycle keys in the model');

const twoPods = (webExtra: string[], dbExtra: string[] = []) => [
  'pods:',
  '  db:',
  '    containers:',
  '      main:',
  '        rootfs: /r',
  '        command: sleep 60',
  ...dbExtra.map((line) => `        ${line}`),
  '  web:',
  '    containers:',
  '      app:',
  '        rootfs: /r',
  '        command: sleep 60',
  ...webExtra.map((line) => `        ${line}`),
  '',
].join('\n');

lifecycle('defaults: no restart, SIGTERM, 10 s grace, no healthcheck, no dependencies', async () => {
  const project = await load(twoPods([]));
  assert.equal(project.pods[1]!.containers[0]!.lifecycle, { restart: { name: 'no' }, stopSignal: 'TERM', stopGraceMs: 10_000, healthcheck: undefined, dependsOn: [] });
});

lifecycle('restart, stop_signal and stop_grace_period as compose writes them', async () => {
  const project = await load(twoPods(['restart: on-failure:3', 'stop_signal: SIGINT', 'stop_grace_period: 1m30s']));
  const { restart, stopSignal, stopGraceMs } = project.pods[1]!.containers[0]!.lifecycle;
  assert.equal(restart, { name: 'on-failure', maxRetries: 3 });
  assert.is(stopSignal, 'INT');
  assert.is(stopGraceMs, 90_000);
});

lifecycle('a pod-level restart policy applies to containers that set none', async () => {
  const yaml = ['pods:', '  web:', '    restart: always', '    containers:', '      a:', '        rootfs: /r', '        command: "true"', '      b:', '        rootfs: /r', '        command: "true"', '        restart: "no"', ''].join('\n');
  const [a, b] = (await load(yaml)).pods[0]!.containers;
  assert.is(a!.lifecycle.restart.name, 'always');
  assert.is(b!.lifecycle.restart.name, 'no');
});

lifecycle('healthcheck forms: CMD-SHELL string, CMD list, tcp, http, NONE', async () => {
  const forms: [string[], unknown][] = [
    [['healthcheck:', '  test: wget -q -O- http://127.0.0.1/'], { kind: 'exec', argv: ['/bin/sh', '-c', 'wget -q -O- http://127.0.0.1/'] }],
    [['healthcheck:', '  test: ["CMD", "cat", "/ready"]'], { kind: 'exec', argv: ['cat', '/ready'] }],
    [['healthcheck:', '  test: ["CMD-SHELL", "test -f /ready"]'], { kind: 'exec', argv: ['/bin/sh', '-c', 'test -f /ready'] }],
    [['healthcheck:', '  tcp: { port: 5432 }'], { kind: 'tcp', host: '127.0.0.1', port: 5432 }],
    [['healthcheck:', '  http: { port: 8080, path: /healthz }'], { kind: 'http', host: '127.0.0.1', port: 8080, path: '/healthz' }],
  ];
  for (const [lines, probe] of forms) {
    const check = (await load(twoPods(lines))).pods[1]!.containers[0]!.lifecycle.healthcheck;
    assert.equal(check?.probe, probe, lines.join(' '));
    assert.equal([check?.intervalMs, check?.timeoutMs, check?.retries, check?.startPeriodMs], [30_000, 30_000, 3, 0], 'docker defaults');
  }
  const none = await load(twoPods(['healthcheck:', '  test: ["NONE"]']));
  assert.is(none.pods[1]!.containers[0]!.lifecycle.healthcheck, undefined);
  const timed = await load(twoPods(['healthcheck:', '  test: "true"', '  interval: 2s', '  timeout: 500ms', '  retries: 5', '  start_period: 1m']));
  const check = timed.pods[1]!.containers[0]!.lifecycle.healthcheck!;
  assert.equal([check.intervalMs, check.timeoutMs, check.retries, check.startPeriodMs], [2000, 500, 5, 60_000]);
});

lifecycle('depends_on: a pod stands for its containers, conditions map to started/healthy/completed', async () => {
  const listed = await load(twoPods(['depends_on: [db]']));
  assert.equal(listed.pods[1]!.containers[0]!.lifecycle.dependsOn, [{ resource: 'db/main', condition: 'started' }]);
  const mapped = await load(twoPods(['depends_on:', '  db/main: { condition: service_healthy }']));
  assert.equal(mapped.pods[1]!.containers[0]!.lifecycle.dependsOn, [{ resource: 'db/main', condition: 'healthy' }]);
  const optional = await load(twoPods(['depends_on:', '  cache: { condition: service_completed_successfully, required: false }']));
  assert.equal(optional.pods[1]!.containers[0]!.lifecycle.dependsOn, [], 'a missing optional dependency is skipped');
});

lifecycle('durations', () => {
  assert.equal([parseDuration('10s'), parseDuration('1m30s'), parseDuration('500ms'), parseDuration('2h'), parseDuration(1.5)], [10_000, 90_000, 500, 7_200_000, 1500]);
});

lifecycle.run();

const refused = suite('lifecycle keys refused with their location');

const cases: { name: string; yaml: string; line: number; col: number; says: RegExp }[] = [
  { name: 'an unknown restart policy', yaml: twoPods(['restart: sometimes']), line: 12, col: 18, says: /restart/ },
  { name: 'a duration without unit words', yaml: twoPods(['stop_grace_period: soon']), line: 12, col: 28, says: /stop_grace_period/ },
  { name: 'an unknown dependency', yaml: twoPods(['depends_on: [cache]']), line: 12, col: 22, says: /depends_on names pod 'cache', which is not in the project/ },
  { name: 'an unknown container in a known pod', yaml: twoPods(['depends_on:', '  db/replica: {}']), line: 13, col: 11, says: /container 'db\/replica'/ },
  { name: 'a dependency cycle', yaml: twoPods(['depends_on: [db]'], ['depends_on: [web]']), line: 7, col: 22, says: /dependency cycle: db\/main → web\/app → db\/main/ },
  { name: 'a healthcheck without a probe', yaml: twoPods(['healthcheck:', '  interval: 5s']), line: 12, col: 9, says: /healthcheck has no probe/ },
  { name: 'an unknown condition', yaml: twoPods(['depends_on:', '  db: { condition: service_ready }']), line: 13, col: 28, says: /condition/ },
];

for (const bad of cases) {
  refused(bad.name, async () => {
    const error = await loadError(bad.yaml);
    assert.match(error.message, bad.says);
    assert.equal([error.where.line, error.where.col], [bad.line, bad.col], `at ${error.where.line}:${error.where.col}: ${error.message}`);
  });
}

refused.run();
