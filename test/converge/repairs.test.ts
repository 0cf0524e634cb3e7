import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { reconcileProject } from '../../src/converge/reconcile.js';
import { formatPlan } from '../../src/plan/plan.js';
import type { RuntimeContext } from '../../src/runtime/context.js';
import { readPidFile } from '../../src/runtime/conmon.js';
import { stopContainer } from '../../src/runtime/container.js';
import { isLiveConmon } from '../../src/runtime/lost-monitor.js';
import { readProcStat } from '../../src/runtime/proc-stat.js';
import { observeProject, type ObservedContainer } from '../../src/runtime/observe.js';
import { readStoppedSet, writeStoppedSet } from '../../src/state/snapshots.js';
import * as native from '../../src/native.js';
import { eventually } from '../helpers/sandbox.js';
import { createRuntimeSandbox, type RuntimeSandbox, tearDownRuntimeSandbox } from '../helpers/runtime-sandbox.js';

// What `up` repairs, as operations of its plan, with real containers and no supervisor (which would
// repair some of it first): `--dry-run` shows each repair and changes nothing; the apply carries it
// out. box/main is joined by joiner/net, so every new process of main recreates the joiner too.

const repairs = suite<RuntimeSandbox>('converge: repairs are plan operations');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

repairs.before(async (context) => {
  Object.assign(context, await createRuntimeSandbox('repairs', (rootfs) => `pods:
  box:
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "${LOOP}"]
  joiner:
    network: none
    containers:
      net:
        rootfs: ${rootfs}
        network: container:box/main
        command: ["sh", "-c", "${LOOP}"]
`));
});

repairs.after(tearDownRuntimeSandbox);

async function containersNow(context: { runtime: RuntimeContext }): Promise<Map<string, ObservedContainer>> {
  return new Map((await observeProject(context.runtime)).containers.map((container) => [`${container.pod}/${container.name}`, container]));
}

/** Whether the process runs: a zombie, killed and not yet reaped by whoever inherited it from conmon, does not. */
const isAlive = (pid: number) => {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
};

repairs('up creates both containers', async (context) => {
  const plan = await reconcileProject(context.desired, context.runtime);
  assert.is(formatPlan(plan), 'create-pod box: new pod\ncreate-pod joiner: new pod\ncreate box/main: new container\ncreate joiner/net: new container', 'the plan');
  const now = await containersNow(context);
  assert.equal([...now.values()].map((container) => container.status), ['running', 'running'], 'both run');
});

repairs('a container whose conmon was killed: --dry-run shows the kill and kills nothing; up kills it and starts it again', async (context) => {
  const before = await containersNow(context);
  const main = before.get('box/main')!;
  process.kill(await readPidFile(context.runtime.paths.container(main.id).conmonPidFile), 'SIGKILL');
  await eventually(async () => (isLiveConmon(await readPidFile(context.runtime.paths.container(main.id).conmonPidFile)) ? undefined : true), 'the conmon of box/main gone');

  const expected = 'kill box/main: its monitor (conmon) is gone\nrecreate joiner/net: joins the network namespace of box/main, which gets a new one\nstart box/main: exited with code 137';
  const dry = await reconcileProject(context.desired, context.runtime, { dryRun: true });
  assert.is(formatPlan(dry), expected, 'the dry run shows the repair');
  assert.ok(isAlive(main.pid!), 'the dry run left the process running');

  const applied = await reconcileProject(context.desired, context.runtime);
  assert.is(formatPlan(applied), expected, 'up carries out the same plan');
  const after = await containersNow(context);
  assert.ok(!isAlive(main.pid!), 'the unwatched process is gone');
  assert.is(after.get('box/main')?.status, 'running', 'box/main runs again');
  assert.ok(isLiveConmon(await readPidFile(context.runtime.paths.container(main.id).conmonPidFile)), 'under a live conmon');
  assert.is.not(after.get('joiner/net')?.created, before.get('joiner/net')?.created, 'the joiner was made anew');
});

repairs('a stopped container whose root was unmounted: --dry-run shows forget-stopped and a recreate; up does both', async (context) => {
  const before = await containersNow(context);
  const main = before.get('box/main')!;
  await writeStoppedSet(context.runtime.paths.stopped, new Set(['box/main']));
  await stopContainer(context.runtime, main.id);
  await native.unmount(context.runtime.paths.container(main.id).rootfs, { detach: true });

  const expected = 'forget-stopped box/main: up brings back what stop stopped\nrecreate box/main: its root file system is gone (a down stopped halfway)\nrecreate joiner/net: joins the network namespace of box/main, which gets a new one';
  const dry = await reconcileProject(context.desired, context.runtime, { dryRun: true });
  assert.is(formatPlan(dry), expected, 'the dry run shows the repair');
  assert.equal([...await readStoppedSet(context.runtime.paths.stopped)], ['box/main'], 'the dry run left the stop recorded');

  const applied = await reconcileProject(context.desired, context.runtime);
  assert.is(formatPlan(applied), expected, 'up carries out the same plan');
  const after = await containersNow(context);
  assert.is(after.get('box/main')?.status, 'running', 'box/main runs again');
  assert.is.not(after.get('box/main')?.created, main.created, 'made anew');
  assert.equal([...await readStoppedSet(context.runtime.paths.stopped)], [], 'the stop is forgotten');
});

repairs('a recreate asked for (a watch rule): the container is made anew although its configuration is the same', async (context) => {
  const before = await containersNow(context);
  const plan = await reconcileProject(context.desired, context.runtime, { recreate: new Map([['joiner/net', 'asked by the test']]) });
  assert.is(formatPlan(plan), 'recreate joiner/net: asked by the test\n1 container up to date', 'the plan');
  const after = await containersNow(context);
  assert.is(after.get('joiner/net')?.status, 'running', 'it runs');
  assert.is.not(after.get('joiner/net')?.created, before.get('joiner/net')?.created, 'made anew');
  assert.is(after.get('box/main')?.created, before.get('box/main')?.created, 'the other is left alone');
});

repairs.run();
