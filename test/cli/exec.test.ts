import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// `exec -u -e -w -d --privileged`, read as docker compose exec reads them, in a real container;
// and `exec -t` without a terminal says what is wrong instead of runc's /dev/tty error.

interface Context extends ProjectSandbox, SetupState {}

const exec = suite<Context>('exec flags');

exec.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('exec'));
  await writeFile(context.file, `
pods:
  box:
    containers:
      main:
        rootfs: ${context.rootfs}
        env: { FROM_PROJECT: kept }
        command: ["sleep", "3600"]
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

exec.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const run = (context: Context, args: readonly string[]) => corral(context.sandbox, ['-p', context.project, 'exec', ...args]);

async function output(context: Context, args: readonly string[]): Promise<string> {
  const result = await run(context, args);
  assert.is(result.exitCode, 0, `exec ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

exec('-u: a uid:gid as given, a name from the image\'s /etc/passwd with its group and home', async (context) => {
  assertSetUp(context);
  assert.is(await output(context, ['-u', '1234:5678', 'box', '--', 'sh', '-c', 'echo $(id -u):$(id -g)']), '1234:5678');
  assert.is(await output(context, ['-u', 'app', 'box', '--', 'sh', '-c', 'echo $(id -u):$(id -g):$HOME']), '1000:1000:/home/app');
  assert.is(await output(context, ['box', '--', 'id', '-u']), '0', 'without -u: the container\'s user');
});

exec('-u with a name the image does not have: exit 1 and the reason, nothing run', async (context) => {
  assertSetUp(context);
  const result = await run(context, ['-u', 'nosuchuser', 'box', '--', 'touch', '/tmp/ran']);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /exec -u nosuchuser: user "nosuchuser" is not in the rootfs' \/etc\/passwd/);
  assert.is((await run(context, ['box', '--', 'test', '-e', '/tmp/ran'])).exitCode, 1, 'the command did not run');
});

exec('-e adds to the container\'s environment; -w sets the working directory', async (context) => {
  assertSetUp(context);
  assert.is(await output(context, ['-e', 'EXTRA=one', '-e', 'FROM_PROJECT=over', 'box', '--', 'sh', '-c', 'echo $EXTRA-$FROM_PROJECT']), 'one-over');
  assert.is(await output(context, ['box', '--', 'sh', '-c', 'echo $FROM_PROJECT']), 'kept');
  assert.is(await output(context, ['-w', '/tmp', 'box', '--', 'pwd']), '/tmp');
  const bad = await run(context, ['-e', 'NOEQUALS', 'box', '--', 'true']);
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /-e NOEQUALS: not NAME=VALUE/);
});

exec('-d returns before the command ends, the command goes on; one that cannot start says why', async (context) => {
  assertSetUp(context);
  // The command waits for a file the test writes afterwards: exec -d can return only if it does not wait.
  await output(context, ['-d', 'box', '--', 'sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.1; done; touch /tmp/detached-done']);
  assert.is((await run(context, ['box', '--', 'test', '-e', '/tmp/detached-done'])).exitCode, 1, 'not done before it was let go');
  await output(context, ['box', '--', 'touch', '/tmp/go']);
  await eventually(async () => ((await run(context, ['box', '--', 'test', '-e', '/tmp/detached-done'])).exitCode === 0 ? true : undefined), 'the detached command finished');
  const missing = await run(context, ['-d', 'box', '--', '/no/such/program']);
  assert.is(missing.exitCode, 1, missing.stderr);
  assert.match(missing.stderr, /exec -d: the command did not start: .*no such file/);
});

exec('--privileged gives the process every capability; without it the container\'s reduced set', async (context) => {
  assertSetUp(context);
  const effective = async (args: readonly string[]) => BigInt(`0x${(await output(context, [...args, 'box', '--', 'grep', 'CapEff', '/proc/self/status'])).split(/\s+/)[1]}`);
  const privileged = await effective(['--privileged']);
  const plain = await effective([]);
  const CAP_SYS_ADMIN = 1n << 21n;
  assert.ok(privileged & CAP_SYS_ADMIN, `--privileged: CapEff ${privileged.toString(16)} lacks CAP_SYS_ADMIN`);
  assert.not.ok(plain & CAP_SYS_ADMIN, `plain exec: CapEff ${plain.toString(16)} has CAP_SYS_ADMIN`);
  assert.ok(privileged > plain);
});

exec('-t without a terminal: exit 1 saying so and what to do, not runc\'s /dev/tty error', async (context) => {
  assertSetUp(context);
  const result = await run(context, ['-t', 'box', '--', 'true']);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /exec -t needs a terminal, and stdin is not one/);
  assert.match(result.stderr, /-T/);
  assert.not.match(result.stderr, /\/dev\/tty/);
});

exec.run();
