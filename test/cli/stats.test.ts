import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import type { ContainerStats } from '../../src/cli/stats.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type ProjectSandbox } from '../helpers/sandbox.js';

// `stats` reads each container's cgroup (v1 or v2) and its pod's network counters: the limits the
// project file set, the processes that run, the CPU a busy loop takes.

interface Context extends ProjectSandbox, SetupState {}

const test = suite<Context>('stats of a running project');

test.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('stats'));
  await writeFile(context.file, `
pods:
  web:
    resources: { pids: 40 }
    containers:
      busy:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "while true; do :; done"]
        resources: { memory: 64m }
      idle:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "sleep 3600 & exec sleep 3600"]
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

test.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

test('--no-stream --format json: the memory limit the file set, the pod\'s pids limit, pids and CPU in use', async (context) => {
  assertSetUp(context);
  const result = await corral(context.sandbox, ['-p', context.project, 'stats', '--no-stream', '--format', 'json']);
  assert.is(result.exitCode, 0, result.stderr);
  const stats = JSON.parse(result.stdout) as ContainerStats[];
  assert.equal(stats.map((one) => `${one.pod}/${one.container}`), ['web/busy', 'web/idle']);
  const [busy, idle] = stats as [ContainerStats, ContainerStats];
  assert.is(busy.memory.limitBytes, 64 * 1024 * 1024, 'memory: 64m of the file');
  assert.ok(busy.memory.usageBytes > 0 && busy.memory.percent! > 0, JSON.stringify(busy.memory));
  assert.is(idle.memory.limitBytes, null, 'no memory limit set: none');
  assert.is(busy.pids.current, 1, 'the busy shell');
  assert.is(idle.pids.current, 2, 'two sleeps');
  assert.equal([busy.pids.limit, idle.pids.limit], [40, 40], 'the pod\'s pids: 40 bounds each container');
  assert.ok(busy.cpuPercent > 0, `the busy loop uses CPU: ${busy.cpuPercent}`);
  for (const one of stats) {
    assert.ok(one.network.rxBytes >= 0 && one.network.txBytes >= 0 && one.blockIo.readBytes >= 0 && one.blockIo.writeBytes >= 0, JSON.stringify(one));
  }
  assert.equal(busy.network, idle.network, 'both containers count their pod\'s one network namespace');
});

test('the table names each container; a named one alone is shown', async (context) => {
  assertSetUp(context);
  const result = await corral(context.sandbox, ['-p', context.project, 'stats', '--no-stream', 'web/idle']);
  assert.is(result.exitCode, 0, result.stderr);
  const [header, ...rows] = result.stdout.trimEnd().split('\n');
  assert.match(header!, /^NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  assert.is(rows.length, 1, result.stdout);
  assert.match(rows[0]!, /^web\/idle\s+\d+\.\d\d%\s+.+ \/ no limit\s+--\s+.+\s+2 \/ 40$/);
  const wrong = await corral(context.sandbox, ['-p', context.project, 'stats', '--no-stream', '--format', 'yaml']);
  assert.is(wrong.exitCode, 1);
  assert.match(wrong.stderr, 'unknown format "yaml" (use table or json)');
});

test('without --no-stream it refreshes every second until stopped', async (context) => {
  assertSetUp(context);
  const result = await corral(context.sandbox, ['-p', context.project, 'stats', '--format', 'json', 'web/busy'], { timeoutMs: 3500 });
  const lines = result.stdout.trim().split('\n');
  assert.ok(lines.length >= 2, `two refreshes or more in 3.5 s: ${result.stdout}`);
  for (const line of lines) assert.is((JSON.parse(line) as ContainerStats[])[0]?.container, 'busy');
});

test.run();
