import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { reconcileProject } from '../../src/converge/reconcile.js';
import { readPidFile } from '../../src/runtime/conmon.js';
import { endContainersWithoutMonitor, isLiveConmon, markContainersWithoutMonitor } from '../../src/runtime/lost-monitor.js';
import { observeProject, type ObservedContainer } from '../../src/runtime/observe.js';
import { eventually } from '../helpers/sandbox.js';
import { createRuntimeSandbox, type RuntimeSandbox, tearDownRuntimeSandbox } from '../helpers/runtime-sandbox.js';

// A container that exits by itself between the observation that saw it running and the look at its
// conmon finds conmon gone, as conmon exits once it has recorded the exit. That is no lost monitor:
// taking it for one killed nothing but wrote 137 over the real exit code (seen once in cli/lifecycle
// as "exit code 137 where 3 was expected"). The interleaving is made exact here: the container has
// exited and its conmon is gone, and the observation handed in still says running.

const lost = suite<RuntimeSandbox>('runtime: a monitor is lost only while its container runs');

lost.before(async (context) => {
  Object.assign(context, await createRuntimeSandbox('lost-monitor', (rootfs) => `pods:
  once:
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "exit 3"]
        restart: "no"
`));
  await reconcileProject(context.desired, context.runtime);
});

lost.after(tearDownRuntimeSandbox);

lost('a container that exited by itself, seen running just before, keeps the exit code conmon recorded', async (context) => {
  const exited = await eventually(async () => {
    const [container] = (await observeProject(context.runtime)).containers;
    return container?.status === 'exited' ? container : undefined;
  }, 'once/main exited');
  assert.is(exited.exitCode, 3, 'conmon recorded its exit code');
  const conmon = await readPidFile(context.runtime.paths.container(exited.id).conmonPidFile);
  await eventually(async () => (isLiveConmon(conmon) ? undefined : true), 'its conmon gone, as after every exit');

  const stale: ObservedContainer = { ...exited, status: 'running', exitCode: undefined, pid: 4_194_304 };
  const [marked] = await markContainersWithoutMonitor(context.runtime, [stale]);
  assert.not.ok(marked?.monitorLost, 'not taken for a container whose conmon was killed');
  const { ended } = await endContainersWithoutMonitor(context.runtime, [stale]);
  assert.equal(ended, [], 'nothing to end');
  assert.is((await readFile(`${context.runtime.paths.exits}/${exited.id}`, 'utf8')).trim(), '3', 'the exit file still says 3');
  const [after] = (await observeProject(context.runtime)).containers;
  assert.is(after?.exitCode, 3, 'observed with its own exit code');
});

lost.run();
