import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';

// Init containers with real containers: they run one after the other, each to exit 0, before the
// pod's containers start; an unchanged re-apply does not run them again; a failing one stops the pod.

const init = suite<{ sandbox: Sandbox; project: string; file: string }>('init containers');

init.before(async (context) => {
  Object.assign(context, await createProjectSandbox('init'));
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(context.file, `
volumes:
  work:
pods:
  app:
    init_containers:
      first:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep 0.3; echo one > /work/steps"]
        volumes: ["work:/work"]
      second:
        rootfs: ${rootfs}
        command: ["sh", "-c", "test -f /work/steps && echo two >> /work/steps"]
        volumes: ["work:/work"]
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "cat /work/steps; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        volumes: ["work:/work"]
`);
});

init.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

init("init containers run in order, to completion, before the pod's containers", async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--wait']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const logs = await corral(context.sandbox, ['-p', context.project, 'logs', 'app/main']);
  assert.equal(logs.stdout.trim().split('\n'), ['one', 'two'], 'main saw what both init containers wrote, in order');
  const rows = JSON.parse((await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json'])).stdout) as { container: string; state: string; exitCode: number | null }[];
  const byName = Object.fromEntries(rows.map((row) => [row.container, row]));
  assert.equal([byName.first?.exitCode, byName.second?.exitCode, byName.main?.state], [0, 0, 'running']);
});

init('an unchanged re-apply does not run them again', async (context) => {
  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /3 containers up to date/);
});

init('an init container and a container of the same name are refused at the init container', async (context) => {
  const bad = path.join(context.sandbox.work, 'bad.yaml');
  await writeFile(bad, 'pods:\n  p:\n    init_containers:\n      x: { rootfs: /r, command: "true" }\n    containers:\n      x: { rootfs: /r, command: "true" }\n');
  const result = await corral(context.sandbox, ['-f', bad, 'validate']);
  assert.is(result.exitCode, 1);
  assert.match(result.stderr, /bad\.yaml:4:7: pod p has an init container and a container both named x/);
});

init.run();
