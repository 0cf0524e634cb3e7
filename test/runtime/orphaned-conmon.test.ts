import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { reconcileProject } from '../../src/converge/reconcile.js';
import { readPidFile } from '../../src/runtime/conmon.js';
import { createContainer, removeContainer, startContainer } from '../../src/runtime/container.js';
import { isLiveConmon } from '../../src/runtime/lost-monitor.js';
import { observeContainer } from '../../src/runtime/observe.js';
import { containerId } from '../../src/state/paths.js';
import { pathExists } from '../../src/state/read.js';
import { eventually } from '../helpers/sandbox.js';
import { createRuntimeSandbox, type RuntimeSandbox, tearDownRuntimeSandbox } from '../helpers/runtime-sandbox.js';

// A command killed after it launched conmon but before conmon reported the container's pid leaves a
// conmon that dies as soon as it reports (SIGPIPE). The next `up` found the container created with
// its conmon still alive, started it, and lost it a moment later (chaos/kill: "3 of 5 containers run
// after up", one exited 137, one with no exit code). Here the command's death is made exact: the
// container is created, then the marker that its launching command got the pid is taken away.

const orphaned = suite<RuntimeSandbox>('runtime: a container whose launching command died before conmon reported');

orphaned.before(async (context) => {
  Object.assign(context, await createRuntimeSandbox('orphaned-conmon', (rootfs) => `pods:
  app:
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sleep", "3600"]
`));
  await reconcileProject(context.desired, context.runtime);
});

orphaned.after(tearDownRuntimeSandbox);

/** Creates app/main afresh (not started), as the command that launched it would have left it. */
async function createdAgain(context: RuntimeSandbox): Promise<{ id: string; conmon: number }> {
  const pod = context.desired.pods.find((candidate) => candidate.name === 'app')!;
  const container = pod.containers[0]!;
  const id = containerId(context.project, pod.name, container.name);
  await removeContainer(context.runtime, id, 'app/main');
  await createContainer(context.runtime, { project: context.desired, pod, container, id, hash: 'test' });
  assert.is((await observeContainer(context.runtime, id)).status, 'created');
  const conmon = await readPidFile(context.runtime.paths.container(id).conmonPidFile);
  assert.ok(isLiveConmon(conmon), 'its conmon runs');
  return { id, conmon };
}

orphaned('a created container whose conmon reported keeps that conmon when started', async (context) => {
  const { id, conmon } = await createdAgain(context);
  await startContainer(context.runtime, id, 'app/main');
  assert.is((await observeContainer(context.runtime, id)).status, 'running');
  assert.is(await readPidFile(context.runtime.paths.container(id).conmonPidFile), conmon, 'the same conmon watches it');
});

orphaned('a created container whose conmon never reported gets a new conmon before it starts, and runs watched', async (context) => {
  const { id, conmon } = await createdAgain(context);
  const files = context.runtime.paths.container(id);
  await rm(files.conmonReported);
  await startContainer(context.runtime, id, 'app/main');
  await eventually(async () => (isLiveConmon(conmon) ? undefined : true), 'the orphaned conmon ended');
  const watcher = await readPidFile(files.conmonPidFile);
  assert.is.not(watcher, conmon, 'launched anew under another conmon');
  assert.ok(isLiveConmon(watcher), 'which runs');
  assert.ok(await pathExists(files.conmonReported), 'and reported to this command');
  assert.is((await observeContainer(context.runtime, id)).status, 'running');
});

orphaned.run();
