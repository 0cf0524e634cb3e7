import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// Readiness by sd_notify (`healthcheck: { notify: true }`), as podman's --sdnotify=container: the
// container's process sends READY=1 to $NOTIFY_SOCKET (/run/notify/notify.sock) and is healthy from
// then on. A READY=1 sent after the `up` that started it has exited still counts (a keeper process
// holds the socket as long as the container's process lives); a dependent waits for it; a new
// process must say it again; any user of the container may say it. The client is a static
// sd_notify sender built from test/fixtures/notify, bind-mounted into busybox.

interface Row { pod: string; container: string; state: string; health: string; pid: number | null }
type Context = ProjectSandbox & SetupState & { sender: string };

const notifying = suite<Context>('readiness by sd_notify');

function projectFile(rootfs: string, sender: string): string {
  return `
volumes:
  shared: {}
pods:
  db:
    containers:
      db:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep 2; date > /shared/ready-at; /notify-send READY=1; exec sleep 1000"]
        volumes: ["${sender}:/notify-send:ro", "shared:/shared"]
        healthcheck: { notify: true }
  app:
    containers:
      app:
        rootfs: ${rootfs}
        command: ["sh", "-c", "if [ -f /shared/ready-at ]; then echo after > /shared/app-started; else echo before > /shared/app-started; fi; exec sleep 1000"]
        volumes: ["shared:/shared"]
        depends_on: { db/db: { condition: service_healthy } }
  late:
    containers:
      late:
        rootfs: ${rootfs}
        user: "1000"
        command: ["sh", "-c", "while [ ! -f /shared/go ]; do sleep 0.1; done; /notify-send 'STATUS=warming up'; /notify-send READY=1; exec sleep 1000"]
        volumes: ["${sender}:/notify-send:ro", "shared:/shared"]
        healthcheck: { notify: true }
  watched:
    containers:
      watched:
        rootfs: ${rootfs}
        command: ["sh", "-c", "rm -f /shared/pings-stopped; echo $$WATCHDOG_USEC > /shared/usec; /notify-send READY=1; i=0; while [ $$i -lt 100 ]; do sleep 0.2; /notify-send WATCHDOG=1; i=$$((i+1)); done; touch /shared/pings-stopped; exec sleep 1000"]
        volumes: ["${sender}:/notify-send:ro", "shared:/shared"]
        healthcheck: { notify: true, watchdog: 3s }
`;
}

notifying.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('notify'));
  context.sender = path.join(context.sandbox.work, 'notify-send');
  await execa('gcc', ['-static', '-O2', '-o', context.sender, path.join(process.cwd(), 'test/fixtures/notify/notify-send.c')]);
  await writeFile(context.file, projectFile(context.rootfs, context.sender));
}));

notifying.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const cli = (context: Context, args: readonly string[]) => corral(context.sandbox, ['-f', context.file, '-p', context.project, ...args]);

async function row(context: Context, pod: string): Promise<Row> {
  const result = await cli(context, ['ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps: ${result.stderr}`);
  const found = (JSON.parse(result.stdout) as Row[]).find((one) => one.pod === pod);
  assert.ok(found, `ps lists ${pod}`);
  return found;
}

/** Runs a shell command in a running container (the test's way of looking inside). */
async function inside(context: Context, resource: string, script: string): Promise<string> {
  const result = await cli(context, ['exec', '-T', resource, '--', 'sh', '-c', script]);
  assert.is(result.exitCode, 0, `exec in ${resource}: ${result.stderr}`);
  return result.stdout;
}

notifying('a dependent starts only once the container said READY=1, and it is healthy from then on', async (context) => {
  assertSetUp(context);
  const up = await cli(context, ['up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stderr}`);
  assert.is((await inside(context, 'app', 'cat /shared/app-started')).trim(), 'after', 'app started after db sent READY=1');
  // ps shows the health the supervisor that up left behind has seen (it reads the record at once).
  await eventually(async () => ((await row(context, 'db')).health === 'healthy' ? true : undefined), 'db healthy in ps');
  assert.match(await inside(context, 'db', 'echo $NOTIFY_SOCKET; ls -l /run/notify'), /^\/run\/notify\/notify\.sock\n.*srwxrwxrwx/s, 'the socket is where $NOTIFY_SOCKET says, open to any user');
});

notifying('READY=1 sent after up has exited counts, from a user other than root; until then it is starting, not unhealthy', async (context) => {
  assertSetUp(context);
  // late waits for /shared/go: nothing is sent while up runs.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.is((await row(context, 'late')).health, 'starting', 'no READY=1 yet: starting (the probe is not failing into unhealthy)');
  await inside(context, 'db', 'touch /shared/go');
  await eventually(async () => ((await row(context, 'late')).health === 'healthy' ? true : undefined), 'late healthy after its READY=1 (no Corral command ran meanwhile)');
  const late = await row(context, 'late');
  const said = await readFile(path.join(context.sandbox.run, context.project, 'containers', `${context.project}.late.late`, 'notify-ready'), 'utf8');
  assert.is(said.trim(), String(late.pid), 'the READY=1 is recorded for the process that sent it');
  // late runs as 1000 and cannot remove root's file: the next process waits for a new one.
  await inside(context, 'db', 'rm /shared/go');
});

notifying('a restarted container is starting again until its new process says READY=1', async (context) => {
  assertSetUp(context);
  const before = (await row(context, 'late')).pid;
  const restart = await cli(context, ['restart', 'late']);
  assert.is(restart.exitCode, 0, restart.stderr);
  const after = await row(context, 'late');
  assert.is.not(after.pid, before, 'a new process');
  assert.is(after.health, 'starting', 'what the old process said is not the new one\'s word');
  await inside(context, 'db', 'touch /shared/go');
  await eventually(async () => ((await row(context, 'late')).health === 'healthy' ? true : undefined), 'late healthy again after the new process said READY=1');
});

notifying('with a watchdog: healthy while WATCHDOG=1 keeps coming (past the watchdog\'s interval), unhealthy once it stops; WATCHDOG_USEC says the interval', async (context) => {
  assertSetUp(context);
  // A new process, so that its 20 s of pings begin now (the one up started may have ended them).
  const restart = await cli(context, ['restart', 'watched']);
  assert.is(restart.exitCode, 0, restart.stderr);
  await eventually(async () => ((await row(context, 'watched')).health === 'healthy' ? true : undefined), 'watched healthy after READY=1');
  assert.is((await inside(context, 'watched', 'cat /shared/usec')).trim(), '3000000', 'the interval in microseconds, as systemd gives it');
  // 8 s after it was seen healthy: without the pings, 3 s of watchdog and 3 failing looks a second apart would have made it unhealthy.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  const pinging = (await inside(context, 'watched', 'test -e /shared/pings-stopped && echo stopped || echo pinging')).trim();
  const health = (await row(context, 'watched')).health;
  assert.is(pinging, 'pinging', 'the 20 s of pings outlast the check (the check is meaningless otherwise)');
  assert.is(health, 'healthy', 'healthy on the pings');
  await eventually(async () => ((await row(context, 'watched')).health === 'unhealthy' ? true : undefined), 'watched unhealthy once its pings stopped', 60_000);
  assert.ok((await inside(context, 'watched', 'test -e /shared/pings-stopped && echo yes')).includes('yes'), 'it turned unhealthy after the pings stopped, not before');
});

notifying('a keeper holds the socket while the container runs (down, after the suite, must leave none: the leak check looks)', async (context) => {
  assertSetUp(context);
  const keepers = await execa('pgrep', ['-a', 'corral-notify-k'], { reject: false });
  assert.match(String(keepers.stdout), new RegExp(`${context.project}\\.late\\.late`), 'a keeper runs for late while it runs');
});

notifying.run();
