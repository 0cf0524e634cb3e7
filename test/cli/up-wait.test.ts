import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, inside, type ProjectSandbox } from '../helpers/sandbox.js';

// `up --wait` takes the verdict the apply already reached about a process it gated a dependent on,
// instead of probing it again from scratch (issue 22: healthy at 7.6 s, --wait said so at 13.8 s).
// The database's probe passes exactly once, the first time after it is ready: the apply's probe
// uses that pass to start `web`; a --wait that probed again would see only failures and report the
// database unhealthy.

interface Context extends ProjectSandbox, SetupState {}

const wait = suite<Context>('up --wait reuses the apply\'s health verdicts');

wait.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('upwait'));
  await writeFile(context.file, `
pods:
  store:
    containers:
      db:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 3600"]
        stop_signal: SIGKILL
        healthcheck:
          test: ["CMD", "sh", "-c", "test -e /tmp/ready && ! test -e /tmp/judged && touch /tmp/judged"]
          interval: 200ms
          start_period: 20s
          start_interval: 200ms
          retries: 2
  app:
    containers:
      web:
        rootfs: ${context.rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
        depends_on: { store/db: { condition: service_healthy } }
`);
}));

wait.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

wait('the one passing probe starts web, and --wait reports db healthy from that same verdict', async (context) => {
  assertSetUp(context);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--wait']);
  assert.is(up.exitCode, 0, `up --wait: ${up.stderr}\n${up.stdout}`);
  assert.match(up.stdout, /store\/db\s+healthy/);
  assert.match(up.stdout, /app\/web\s+started/);
  const judged = await inside(context.sandbox, context.project, 'store.db', 'test -e /tmp/judged');
  assert.is(judged.exitCode, 0, 'the passing probe ran (and no second one could pass)');
});

wait.run();
