import { suite } from 'uvu';
import { supervisorPid } from '../chaos/observe.js';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, createSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// The reconciler with real containers: dependency order and conditions, health checks made from
// inside the pod, restart policies with backoff, the supervisor surviving kill -9, stop/start/restart,
// exec, and minimal changes.

interface Row { pod: string; container: string; state: string; pid: number | null; exitCode: number | null; restarts: number; health: string | null; supervisor: string | null; created: string | null }

const lifecycle = suite<{ sandbox: Sandbox; project: string; file: string }>('reconciler and supervisor, end to end');

// db listens only after a second; web fetches from it at its very start, so it succeeds only if it
// was started after db's HTTP healthcheck passed. migrate runs once and writes to the volume; app
// waits for it to complete and reads what it wrote; it takes a second to stop, so that two `up`s that
// recreate it overlap.
function projectFile(rootfs: string, appEnv = 'one'): string {
  return `
volumes:
  data:
pods:
  store:
    containers:
      db:
        rootfs: ${rootfs}
        command: ["sh", "-c", "mkdir -p /www && echo db-page > /www/index.html && sleep 1 && exec httpd -f -p 8080 -h /www"]
        healthcheck:
          http: { port: 8080, path: /index.html }
          interval: 300ms
          start_period: 5s
          start_interval: 200ms
      web:
        rootfs: ${rootfs}
        command: ["sh", "-c", "wget -q -O- http://127.0.0.1:8080/index.html && echo web-reached-db; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        depends_on:
          store/db: { condition: service_healthy }
  jobs:
    containers:
      migrate:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep 0.5; echo migrated > /data/state"]
        volumes: ["data:/data"]
      app:
        rootfs: ${rootfs}
        command: ["sh", "-c", "cat /data/state; trap 'echo got-INT; sleep 1; exit 0' INT; while true; do sleep 0.2; done"]
        env: { VERSION: ${appEnv} }
        stop_signal: SIGINT
        volumes: ["data:/data"]
        depends_on:
          jobs/migrate: { condition: service_completed_successfully }
`;
}

async function rows(context: { sandbox: Sandbox; project: string }): Promise<Map<string, Row>> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps fails: ${result.stderr}`);
  return new Map((JSON.parse(result.stdout) as Row[]).map((row) => [`${row.pod}/${row.container}`, row]));
}

async function logsOf(context: { sandbox: Sandbox; project: string }, resource: string): Promise<string> {
  return (await corral(context.sandbox, ['-p', context.project, 'logs', resource])).stdout;
}

lifecycle.before(async (context) => {
  Object.assign(context, await createProjectSandbox('lifecycle'));
  context.sandbox.env.CORRAL_RESTART_BACKOFF = '300,1200';
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!));
});

lifecycle.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

lifecycle('up --wait starts dependents after their dependencies are healthy or completed', async (context) => {
  const result = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--wait']);
  assert.is(result.exitCode, 0, `up fails: ${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /store\/db\s+healthy/, 'says when db is healthy');
  assert.match(await logsOf(context, 'store/web'), 'web-reached-db', 'web started only once db answered');
  assert.match(await logsOf(context, 'jobs/app'), 'migrated', 'app started only after migrate completed');
  const state = await rows(context);
  assert.is(state.get('jobs/migrate')?.exitCode, 0, 'the one-shot job ran to completion');
  assert.is(state.get('store/web')?.state, 'running');
});

lifecycle('ps shows health from the supervisor', async (context) => {
  const db = await eventually(async () => ((await rows(context)).get('store/db')?.health === 'healthy' ? true : undefined), 'db healthy in ps');
  assert.ok(db);
  const table = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.match(table.stdout, /HEALTH\s+RESTARTS/, 'the table has health and restart columns');
});

lifecycle('an unchanged re-apply touches nothing; one env change recreates exactly one container', async (context) => {
  const before = await rows(context);
  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /4 containers up to date/, 'the job that completed counts as up to date');
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!, 'two'));
  const diff = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'diff']);
  assert.match(diff.stdout, /^recreate jobs\/app: env changed$/m, 'the plan names the cause');
  const changed = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(changed.exitCode, 0, changed.stderr);
  const after = await rows(context);
  const recreated = [...after.keys()].filter((resource) => after.get(resource)!.created !== before.get(resource)!.created);
  assert.equal(recreated, ['jobs/app'], 'only the changed container is new');
});

lifecycle('stop uses the stop signal and nothing restarts it; start brings it back; exec runs inside', async (context) => {
  const stop = await corral(context.sandbox, ['-p', context.project, 'stop', 'jobs/app']);
  assert.is(stop.exitCode, 0, stop.stderr);
  assert.match(await logsOf(context, 'jobs/app'), 'got-INT', 'stop_signal SIGINT reached the trap');
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.is((await rows(context)).get('jobs/app')!.state, 'exited', 'still stopped after the backoff time');
  const start = await corral(context.sandbox, ['-p', context.project, 'start', 'jobs/app']);
  assert.is(start.exitCode, 0, start.stderr);
  assert.is((await rows(context)).get('jobs/app')!.state, 'running');
  const exec = await corral(context.sandbox, ['-p', context.project, 'exec', 'jobs/app', '--', 'sh', '-c', 'echo $VERSION; cat /data/state']);
  assert.is(exec.exitCode, 0, exec.stderr);
  assert.equal(exec.stdout.trim().split('\n'), ['two', 'migrated']);
  const failing = await corral(context.sandbox, ['-p', context.project, 'exec', 'jobs/app', '--', 'sh', '-c', 'exit 7']);
  assert.is(failing.exitCode, 7, 'exec exits with the command\'s code');
});

lifecycle('two concurrent ups end with exactly one set of containers, the second says it waited', async (context) => {
  const before = await rows(context);
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!, 'three'));
  const [first, second] = await Promise.all([
    corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']),
    corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']),
  ]);
  assert.is(first.exitCode, 0, first.stderr);
  assert.is(second.exitCode, 0, second.stderr);
  assert.match(first.stdout + second.stdout, /waited [0-9.]+s for another corral command/, 'one of them waited');
  const after = await rows(context);
  assert.equal([...after.keys()], [...before.keys()], 'the same containers, none twice');
  assert.is(after.get('jobs/app')!.state, 'running');
});

lifecycle.run();

const restarts = suite<{ sandbox: Sandbox; project: string; file: string }>('restart policies and a supervisor that survives');

restarts.before(async (context) => {
  Object.assign(context, await createProjectSandbox('restarts'));
  context.sandbox.env.CORRAL_RESTART_BACKOFF = '300,1200';
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(context.file, `
pods:
  flaky:
    containers:
      crash:
        rootfs: ${rootfs}
        command: ["sh", "-c", "echo crash-run; exit 3"]
        restart: on-failure:2
  steady:
    containers:
      server:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        restart: always
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
});

restarts.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

restarts('a crashing container is restarted with growing delays, on-failure:2 stops after two', async (context) => {
  const crash = await eventually(async () => {
    const row = (await rows(context)).get('flaky/crash');
    return row && row.restarts === 2 && row.supervisor === 'exited' ? row : undefined;
  }, 'two restarts, then exited', 20_000);
  assert.is(crash.exitCode, 3);
  const runs = (await logsOf(context, 'flaky/crash')).split('\n').filter((line) => line.includes('crash-run'));
  assert.is(runs.length, 3, 'the first run and two restarts, all in one log');
  const log = await readFile(path.join(context.sandbox.state, 'projects', context.project, 'supervisor.log'), 'utf8');
  assert.match(log, /flaky\/crash exited with code 3; restarting in 0\.3s \(restart 1\)/, 'the first delay is the base');
  assert.match(log, /restarting in 0\.6s \(restart 2\)/, 'the second is twice as long');
});

restarts('kill -9 of the supervisor: containers keep running, the next command starts a new one', async (context) => {
  const pid = await supervisorPid(context);
  const before = (await rows(context)).get('steady/server')!;
  process.kill(pid, 'SIGKILL');
  await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true), 'the supervisor to die');
  const after = await rows(context);
  assert.is(after.get('steady/server')!.pid, before.pid, 'the server kept running');
  const successor = await supervisorPid(context);
  assert.is.not(successor, pid, 'ps started a new supervisor');
  await eventually(async () => ((await rows(context)).get('flaky/crash')?.restarts === 2 ? true : undefined), 'restart counts carried over');
});

restarts('a container killed from outside is observed exited and restarted by its policy', async (context) => {
  const before = (await rows(context)).get('steady/server')!;
  process.kill(before.pid!, 'SIGKILL');
  const after = await eventually(async () => {
    const row = (await rows(context)).get('steady/server');
    return row?.state === 'running' && row.pid !== before.pid && row.restarts === before.restarts + 1 ? row : undefined;
  }, 'the server restarted, and counted');
  assert.is(after.restarts, before.restarts + 1);
});

restarts.run();

const unhealthy = suite<{ sandbox: Sandbox; project: string }>('a dependency that never becomes healthy');

unhealthy.before(async (context) => {
  context.sandbox = await createSandbox('unhealthy');
  context.project = context.sandbox.projectName('unhealthy');
});

unhealthy.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

unhealthy('up fails naming the container and its last probe output; the dependent is not started', async (context) => {
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(file, `
pods:
  api:
    containers:
      server:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        healthcheck:
          tcp: { port: 9999 }
          interval: 200ms
          retries: 2
      client:
        rootfs: ${rootfs}
        command: ["sleep", "60"]
        depends_on:
          api/server: { condition: service_healthy }
`);
  const result = await corral(context.sandbox, ['-f', file, '-p', context.project, 'up', '-d']);
  assert.is(result.exitCode, 2, 'a runtime failure');
  assert.match(result.stdout, /api\/client\s+not started: api\/server never became healthy: unhealthy after 2 probes: connect 127\.0\.0\.1:9999: .*(refused|ECONNREFUSED)/i);
  const listed = JSON.parse((await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json'])).stdout) as Row[];
  assert.equal(listed.map((row) => row.container), ['server'], 'the client was never created');
});

unhealthy.run();
