import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// `corral events` on real containers: a crashing one dies with its code and is restarted, a healthy
// one reports its health, pause and unpause are told, a pod taken out of the file is destroyed; in
// order, replayed with --since, as JSON lines of the documented shape.

interface Context extends ProjectSandbox, SetupState {}

interface Event { time: string; type: string; action: string; project: string; pod: string; container: string; id: string; attributes: Record<string, string | number> }

const events = suite<Context>('events of a project');

const projectFile = (rootfs: string, withExtra: boolean) => `
pods:
  crash:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep 0.3; exit 3"]
        restart: on-failure:1
  web:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
        healthcheck: { test: ["CMD", "true"], interval: 200ms, start_period: 10s, start_interval: 200ms }
  hog:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]
        resources: { memory: 16m }
  nibbler:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep 3600"]
        resources: { memory: 16m }
        stop_signal: SIGKILL
  steady:
    restart: always
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
${withExtra ? `  extra:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
` : ''}`;

events.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('events'));
  context.sandbox.env.CORRAL_RESTART_BACKOFF = '300,1200';
  await writeFile(context.file, projectFile(context.rootfs, true));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

events.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

async function replay(context: Context, args: readonly string[] = []): Promise<Event[]> {
  const result = await corral(context.sandbox, ['-p', context.project, 'events', '--json', '--since', '1h', '--until', new Date().toISOString(), ...args]);
  assert.is(result.exitCode, 0, `events: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
}

const of = (all: readonly Event[], pod: string) => all.filter((event) => event.pod === pod).map((event) => event.action + (event.attributes.exitCode === undefined ? '' : `:${event.attributes.exitCode}`));

events('a crash: create, start, die with its code, restart, start, die; the second exit is final (on-failure:1)', async (context) => {
  assertSetUp(context);
  const told = await eventually(async () => {
    const all = await replay(context);
    return of(all, 'crash').filter((action) => action.startsWith('die')).length >= 2 ? all : undefined;
  }, 'crash died twice', 30_000);
  assert.equal(of(told, 'crash'), ['create', 'start', 'die:3', 'restart', 'start', 'die:3']);
  const restart = told.find((event) => event.pod === 'crash' && event.action === 'restart')!;
  assert.is(restart.attributes.restartCount, 1);
  // The restart's start: the supervisor saw that process begin (the first one may have ended before it came).
  const start = told.filter((event) => event.pod === 'crash' && event.action === 'start').at(-1)!;
  assert.is(start.type, 'container');
  assert.is(start.project, context.project);
  assert.is(start.id, `${context.project}.crash.main`);
  assert.type(start.attributes.pid, 'number');
  const times = told.map((event) => Date.parse(event.time));
  assert.equal(times, [...times].sort((a, b) => a - b), 'in time order');
});

events('health, pause and unpause of web, in order; a pod named narrows the stream', async (context) => {
  assertSetUp(context);
  await eventually(async () => (of(await replay(context, ['web']), 'web').includes('health_status') ? true : undefined), 'web healthy');
  for (const command of ['pause', 'unpause']) {
    const result = await corral(context.sandbox, ['-p', context.project, command, 'web']);
    assert.is(result.exitCode, 0, `${command}: ${result.stderr}`);
    await eventually(async () => (of(await replay(context, ['web']), 'web').includes(command) ? true : undefined), `${command} told`);
  }
  const web = await replay(context, ['web']);
  assert.ok(web.every((event) => event.pod === 'web'), 'only web');
  assert.equal(of(web, 'web').filter((action) => action !== 'health_status'), ['create', 'start', 'pause', 'unpause']);
  assert.is(web.find((event) => event.action === 'health_status')!.attributes.health, 'healthy');
});

events('an OOM kill: oom, then die 137 for the process it killed; oom alone when it took a child; no file left in the user\'s directory', async (context) => {
  assertSetUp(context);
  const told = await eventually(async () => {
    const all = await replay(context);
    return of(all, 'hog').includes('die:137') && of(all, 'nibbler').includes('oom') ? all : undefined;
  }, 'both OOM kills told', 30_000);
  assert.equal(of(told, 'hog'), ['create', 'start', 'oom', 'die:137']);
  assert.equal(of(told, 'nibbler'), ['create', 'start', 'oom'], 'sh runs on after its child was killed');
  // conmon writes its record into its working directory: the container's bundle, never where the user typed `up`.
  assert.not.ok(existsSync(path.join(context.sandbox.work, 'oom')), 'no oom file in the directory up ran in');
  const text = await corral(context.sandbox, ['-p', context.project, 'events', '--since', '1h', '--until', new Date().toISOString(), 'hog']);
  assert.match(text.stdout, new RegExp(`container oom ${context.project}\\.hog\\.main \\(project=${context.project}, pod=hog, container=main\\)\n.*container die ${context.project}\\.hog\\.main .*exitCode=137`));
});

events('stop then start under restart: always: die, then start; no restart told (the start is the user\'s, not the policy\'s)', async (context) => {
  assertSetUp(context);
  const toldAfter = { stop: ['create', 'start', 'die:137'], start: ['create', 'start', 'die:137', 'start'] };
  for (const command of ['stop', 'start'] as const) {
    const result = await corral(context.sandbox, ['-p', context.project, command, 'steady']);
    assert.is(result.exitCode, 0, `${command}: ${result.stderr}`);
    await eventually(async () => (of(await replay(context, ['steady']), 'steady').length >= toldAfter[command].length ? true : undefined), `${command} told`);
  }
  // A backoff of 300 ms: a restart scheduled by the policy would have been told (and done) by now.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(of(await replay(context, ['steady']), 'steady'), toldAfter.start);
});

events('a pod taken out of the file is destroyed; text lines name the container and its attributes', async (context) => {
  assertSetUp(context);
  await writeFile(context.file, projectFile(context.rootfs, false));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
  await eventually(async () => (of(await replay(context, ['extra']), 'extra').includes('destroy') ? true : undefined), 'extra destroyed');
  assert.equal(of(await replay(context, ['extra']), 'extra'), ['create', 'start', 'die', 'destroy']);
  const text = await corral(context.sandbox, ['-p', context.project, 'events', '--since', '1h', '--until', new Date().toISOString(), 'extra']);
  assert.match(text.stdout, new RegExp(`^\\S+Z container destroy ${context.project}\\.extra\\.main \\(project=${context.project}, pod=extra, container=main\\)$`, 'm'));
  const bad = await corral(context.sandbox, ['-p', context.project, 'events', '--since', 'later']);
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /--since later: not a time/);
});

events.run();
