import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, corral, createSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// Security by default, looked at from inside a container: docker's reduced capability set, no new
// privileges, seccomp filtering, masked and read-only kernel paths; privileged only when asked and
// shown by ps; state and sockets root-only, and a clear refusal for another user.

interface Context { sandbox: Sandbox; project: string }
const security = suite<Context>('security defaults');

const DOCKER_DEFAULT_CAPS = 0xa80425fbn;

const statusField = async (context: Context, id: string, field: string) => ((await inside(context.sandbox, context.project, id, `grep '^${field}:' /proc/self/status`)).stdout.split(/\s+/)[1] ?? '').trim();

security.before(async (context) => {
  context.sandbox = await createSandbox('security');
  context.project = context.sandbox.projectName('security');
  const file = path.join(context.sandbox.work, 'corral.yaml');
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const sleeper = `rootfs: ${rootfs}\n        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]`;
  // A profile of the containers-common format that allows everything but mkdir.
  const noMkdir = path.join(context.sandbox.work, 'no-mkdir.json');
  await writeFile(noMkdir, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
  await writeFile(file, [
    'pods:', '  box:', '    containers:',
    `      plain:\n        ${sleeper}`,
    `      power:\n        ${sleeper}\n        privileged: true`,
    `      open:\n        ${sleeper}\n        seccomp: unconfined`,
    `      strict:\n        ${sleeper}\n        seccomp: ./no-mkdir.json`,
    '',
  ].join('\n'));
  const up = await corral(context.sandbox, ['-f', file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
});

security.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

security('a default container has docker\'s capability set, no new privileges and a seccomp filter', async (context) => {
  assert.is(BigInt(`0x${await statusField(context, 'box.plain', 'CapEff')}`), DOCKER_DEFAULT_CAPS, 'CapEff is docker\'s default set');
  assert.is(BigInt(`0x${await statusField(context, 'box.plain', 'CapBnd')}`), DOCKER_DEFAULT_CAPS, 'and so is the bounding set');
  assert.is(await statusField(context, 'box.plain', 'NoNewPrivs'), '1');
  assert.is(await statusField(context, 'box.plain', 'Seccomp'), '2', 'seccomp in filter mode');
});

security('kernel paths are masked or read-only', async (context) => {
  const timers = await inside(context.sandbox, context.project, 'box.plain', 'wc -c < /proc/timer_list');
  assert.is(timers.stdout.trim(), '0', '/proc/timer_list is masked (/dev/null over it)');
  const firmware = await inside(context.sandbox, context.project, 'box.plain', 'ls /sys/firmware | wc -l');
  assert.is(firmware.stdout.trim(), '0', '/sys/firmware is masked (an empty tmpfs)');
  const sysWrite = await inside(context.sandbox, context.project, 'box.plain', 'echo 1 > /proc/sys/kernel/domainname && echo wrote');
  assert.not.match(sysWrite.stdout, 'wrote', '/proc/sys is read-only');
  const sysrq = await inside(context.sandbox, context.project, 'box.plain', 'echo h > /proc/sysrq-trigger && echo wrote');
  assert.not.match(sysrq.stdout, 'wrote');
});

security('privileged is explicit: all capabilities, no seccomp, and ps says so', async (context) => {
  const capEff = BigInt(`0x${await statusField(context, 'box.power', 'CapEff')}`);
  assert.ok(capEff > DOCKER_DEFAULT_CAPS, 'more than the default set');
  assert.is(await statusField(context, 'box.power', 'Seccomp'), '0');
  const ps = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.match(ps.stdout, /power \(privileged\)/);
  assert.not.match(ps.stdout, /plain \(privileged\)/);
});

security('seccomp: unconfined is explicit and removes the filter; a profile file is applied as written', async (context) => {
  assert.is(await statusField(context, 'box.open', 'Seccomp'), '0', 'no filter');
  assert.is(BigInt(`0x${await statusField(context, 'box.open', 'CapEff')}`), DOCKER_DEFAULT_CAPS, 'but still the reduced capabilities');
  assert.is(await statusField(context, 'box.strict', 'Seccomp'), '2');
  const made = await inside(context.sandbox, context.project, 'box.strict', 'mkdir /tmp/x && echo made');
  assert.not.match(made.stdout, 'made', 'mkdir is refused by the profile');
  assert.match(made.stderr, /not permitted/i);
  const elsewhere = await inside(context.sandbox, context.project, 'box.plain', 'mkdir /tmp/x && echo made');
  assert.match(elsewhere.stdout, 'made', 'the default profile allows it');
});

security('state, logs and the supervisor socket are root-only', async (context) => {
  const projectRun = path.join(context.sandbox.run, context.project);
  const projectState = path.join(context.sandbox.state, 'projects', context.project);
  await eventually(async () => ((await stat(path.join(projectRun, 'supervisor.sock')).catch(() => undefined)) ? true : undefined), 'the supervisor socket');
  const modes: [string, number][] = [
    [projectRun, 0o700], [projectState, 0o700], [path.join(projectRun, 'supervisor.sock'), 0o600],
    [path.join(projectState, 'applied.json'), 0o600], [path.join(projectState, 'supervisor.log'), 0o600],
  ];
  for (const [file, mode] of modes) {
    assert.is(((await stat(file)).mode & 0o777).toString(8), mode.toString(8), file);
  }
});

security('another user gets a clear permission error, not data', async (context) => {
  const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliEntry, '-p', context.project, 'ps'], { env: context.sandbox.env, reject: false });
  assert.is.not(result.exitCode, 0);
  assert.match(result.stderr, /permission denied: .*belong to root \(run corral as root/);
  assert.not.match(result.stdout, context.project, 'no data');
});

security.run();
