import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { reconcileProject } from '../../src/converge/reconcile.js';
import { tearDownProject } from '../../src/converge/teardown.js';
import { loadProject } from '../../src/load/load.js';
import { openRuntime, type RuntimeContext } from '../../src/runtime/context.js';
import { readPidFile } from '../../src/runtime/conmon.js';
import { endContainersWithoutMonitor, isLiveConmon, markContainersWithoutMonitor } from '../../src/runtime/lost-monitor.js';
import { observeProject, type ObservedContainer } from '../../src/runtime/observe.js';
import { withProjectLock } from '../../src/state/lock.js';
import { createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// A container that exits by itself between the observation that saw it running and the look at its
// conmon finds conmon gone, as conmon exits once it has recorded the exit. That is no lost monitor:
// taking it for one killed nothing but wrote 137 over the real exit code (seen once in cli/lifecycle
// as "exit code 137 where 3 was expected"). The interleaving is made exact here: the container has
// exited and its conmon is gone, and the observation handed in still says running.

const lost = suite<ProjectSandbox & { runtime: RuntimeContext }>('runtime: a monitor is lost only while its container runs');

lost.before(async (context) => {
  Object.assign(context, await createProjectSandbox('lost-monitor'));
  await writeFile(context.file, `pods:
  once:
    network: none
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "exit 3"]
        restart: "no"
`);
  context.runtime = await openRuntime(context.project, { dirs: { run: context.sandbox.run, state: context.sandbox.state } });
  await reconcileProject(await loadProject({ file: context.file, projectName: context.project }), context.runtime);
});

lost.after(async (context) => {
  await withProjectLock(context.runtime.paths.lock, () => tearDownProject(context.runtime));
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

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
