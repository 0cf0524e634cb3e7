import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage, type BuiltImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// Compose keys that change how a container runs, carried over and run for real: init reaps
// zombies and passes signals on; replicas run as pods of their own; devices are there, as far as
// the device cgroup lets them be used, and no further; post_start and pre_stop hooks run in the
// container.

interface Context { sandbox: Sandbox; image: BuiltImage; init: string; replicas: string; devices: string; hooks: string }
const carried = suite<Context>('compose keys carried over, run for real');

/** Zombies among the container's processes, as its own /proc shows them. */
const COUNT_ZOMBIES = "n=0; for f in /proc/[0-9]*/stat; do case \"$(cat $f 2>/dev/null)\" in *') Z '*) n=$((n+1));; esac; done; echo $n";

/** An orphan (the subshell's sleep) that PID 1 must reap, then a PID 1 candidate that never waits. */
const MAKE_ZOMBIE = '(sleep 0.1 &); exec sleep 1000';

async function composeUp(context: Context, project: string, name: string, services: string) {
  const file = path.join(context.sandbox.work, name);
  await writeFile(file, `services:\n${services}`);
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  return { file, up };
}

carried.before(async (context) => {
  context.sandbox = await createSandbox('carried');
  context.init = context.sandbox.projectName('init');
  context.replicas = context.sandbox.projectName('replicas');
  context.devices = context.sandbox.projectName('devices');
  context.hooks = context.sandbox.projectName('hooks');
  context.image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sleep', '1000'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
});

carried.after((context) => downAndAssertNothingLeaks(context.sandbox, context.init, context.replicas, context.devices, context.hooks));

carried('init: true: catatonit is PID 1, reaps the orphans a command leaves, and passes the stop signal on', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  const { up } = await composeUp(context, context.init, 'init.yaml', `  plain:
    image: "${image}"
    command: ["sh", "-c", "${MAKE_ZOMBIE}"]
  reaped:
    image: "${image}"
    init: true
    command: ["sh", "-c", "${MAKE_ZOMBIE}"]
  forwarded:
    image: "${image}"
    init: true
    stop_grace_period: 60s
    command: ["sh", "-c", "trap 'echo got-term; exit 0' TERM; echo waiting; while true; do sleep 0.2; done"]
`);
  assert.not.match(up.stderr, /init/, 'init is carried over, not warned about');
  const zombies = async (service: string) => (await inside(context.sandbox, context.init, `${service}.${service}`, COUNT_ZOMBIES)).stdout.trim();
  assert.is(await eventually(async () => ((await zombies('plain')) === '1' ? '1' : undefined), 'the zombie left under a PID 1 that never waits'), '1', 'without init the orphan stays a zombie: the check can fail');
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.is(await zombies('reaped'), '0', 'with init the orphan is reaped');
  const pid1 = await inside(context.sandbox, context.init, 'reaped.reaped', 'tr "\\0" " " < /proc/1/cmdline');
  assert.match(pid1.stdout, /^\/run\/corral-init -- sh -c/, 'PID 1 is catatonit, running the command');
  await eventually(async () => ((await corral(context.sandbox, ['-p', context.init, 'logs', 'forwarded'])).stdout.includes('waiting') ? true : undefined), 'the trap set');
  const started = Date.now();
  const stop = await corral(context.sandbox, ['-p', context.init, 'stop', 'forwarded']);
  assert.is(stop.exitCode, 0, `stop: ${stop.stderr}`);
  assert.ok(Date.now() - started < 30_000, 'the command got SIGTERM from catatonit and ended long before the 60 s grace period');
  const logs = await corral(context.sandbox, ['-p', context.init, 'logs', 'forwarded']);
  assert.match(logs.stdout, /got-term/, 'the command\'s TERM trap ran');
});

/** `pod/container:state` of each container `ps` lists, sorted. */
async function listed(context: Context, project: string): Promise<string[]> {
  const ps = await corral(context.sandbox, ['-p', project, 'ps', '--format', 'json']);
  assert.is(ps.exitCode, 0, `ps: ${ps.stderr}`);
  return (JSON.parse(ps.stdout) as { pod: string; container: string; state: string }[]).map((row) => `${row.pod}/${row.container}:${row.state}`).sort();
}

carried('deploy.replicas and scale: N running pods beside what depends on them, none for scale: 0, down removes every one', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  const { file } = await composeUp(context, context.replicas, 'replicas.yaml', `  web:
    image: "${image}"
    stop_signal: SIGKILL
    deploy: { replicas: 3 }
  idle:
    image: "${image}"
    scale: 0
  client:
    image: "${image}"
    stop_signal: SIGKILL
    depends_on: [web]
`);
  assert.equal(await listed(context, context.replicas), ['client/client:running', 'web-1/web:running', 'web-2/web:running', 'web-3/web:running'], 'three replicas of web, none of idle');
  const down = await corral(context.sandbox, ['-f', file, '-p', context.replicas, 'down']);
  assert.is(down.exitCode, 0, `down: ${down.stderr}`);
  assert.equal(await listed(context, context.replicas), [], 'down removed every replica');
});

carried('devices: a mapped node reads as the host\'s, its permissions hold, a node not listed cannot be opened', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  await composeUp(context, context.devices, 'devices.yaml', `  app:
    image: "${image}"
    stop_signal: SIGKILL
    devices: ["/dev/zero:/dev/myzero", "/dev/kmsg:/dev/mykmsg:r"]
`);
  const run = async (script: string) => {
    const result = await inside(context.sandbox, context.devices, 'app.app', script);
    return `${String(result.stdout).trim()}${String(result.stderr).trim()}`;
  };
  assert.is(await run('stat -c %t:%T /dev/myzero'), '1:5', '/dev/myzero is the host\'s /dev/zero');
  assert.is(await run('head -c 4 /dev/myzero | od -An -tx1 | tr -d " "'), '00000000', 'reading it gives zeros');
  // Not /dev/full and the like: runc allows its default nodes (null, zero, full, random, urandom, tty, ptmx) rwm whatever is asked.
  assert.match(await run('echo corral-devices-test > /dev/mykmsg && echo written'), /Operation not permitted/, 'mapped read-only (r): opening it to write is denied by the cgroup');
  assert.match(await run('mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null && echo opened'), /Operation not permitted/, 'a node not listed (/dev/mem, made with mknod) cannot be opened');
});

carried('post_start runs after start with its user, directory and environment; pre_stop runs before the stop signal', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  const out = path.join(context.sandbox.work, 'hooks-out');
  await mkdir(out);
  // The post_start hook runs as app (uid 1000): the umask would keep it from writing here.
  await chmod(out, 0o777);
  await composeUp(context, context.hooks, 'hooks.yaml', `  hooked:
    image: "${image}"
    stop_grace_period: 30s
    volumes: ["${out}:/out"]
    command: ["sh", "-c", "trap 'echo got-term >> /out/order; exit 0' TERM; while true; do sleep 0.2; done"]
    post_start:
      - command: ["sh", "-c", "echo \\"$$(id -u) $$(pwd) $$GREETING\\" > /out/post-start"]
        user: app
        working_dir: /tmp
        environment: { GREETING: hello }
    pre_stop:
      - command: sh -c 'echo pre-stop >> /out/order'
`);
  const postStart = await eventually(async () => (await readFile(path.join(out, 'post-start'), 'utf8').catch(() => undefined))?.trim(), 'the post_start hook\'s file');
  assert.is(postStart, '1000 /tmp hello', 'post_start ran as app (uid 1000), in /tmp, with its environment');
  const stop = await corral(context.sandbox, ['-p', context.hooks, 'stop', 'hooked']);
  assert.is(stop.exitCode, 0, `stop: ${stop.stderr}`);
  assert.is((await readFile(path.join(out, 'order'), 'utf8')).trim(), 'pre-stop\ngot-term', 'pre_stop ran first, then the stop signal came');
});

carried.run();
