import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SupervisorError } from '../../src/supervisor/errors.js';
import { lockedSteps } from '../../src/supervisor/locked-steps.js';
import { projectPaths } from '../../src/state/paths.js';

// The supervisor's steps with the real project lock: one at a time, and none once `down` took the
// project away (its applied project or its whole run dir), which is said as the project being gone.

const steps = suite<{ root: string; paths: ReturnType<typeof projectPaths> }>('supervisor: steps under the project lock');

steps.before.each(async (context) => {
  context.root = await mkdtemp('/tmp/corral-test-locked-steps-');
  context.paths = projectPaths({ run: `${context.root}/run`, state: `${context.root}/state` }, 'shop');
  await mkdir(context.paths.run, { recursive: true });
  await mkdir(context.paths.state, { recursive: true });
  await writeFile(context.paths.applied, '{}');
});

steps.after.each(async (context) => {
  await rm(context.root, { recursive: true, force: true });
});

steps('steps run one at a time, in order, and return what the work returns', async (context) => {
  const underLock = lockedSteps({ project: 'shop', paths: context.paths });
  let running = 0;
  let maxRunning = 0;
  const order: number[] = [];
  const step = (index: number) => underLock(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(10);
    order.push(index);
    running--;
    return index * 10;
  });
  const results = await Promise.all([1, 2, 3].map(step));
  assert.equal(results, [10, 20, 30], 'each step returns its work\'s value');
  assert.equal(order, [1, 2, 3], 'in the order asked');
  assert.is(maxRunning, 1, 'never two at once');
});

const gone = [
  { scenario: 'the applied project was removed', takeAway: (paths: ReturnType<typeof projectPaths>) => rm(paths.applied) },
  { scenario: 'the whole run dir was removed', takeAway: (paths: ReturnType<typeof projectPaths>) => rm(paths.run, { recursive: true }) },
];

for (const { scenario, takeAway } of gone) {
  steps(`no step runs once ${scenario}: the project is gone`, async (context) => {
    const underLock = lockedSteps({ project: 'shop', paths: context.paths });
    await takeAway(context.paths);
    let ran = false;
    const error = await underLock(async () => {
      ran = true;
    }).catch((caught: unknown) => caught);
    assert.is(ran, false, 'the work did not run');
    assert.instance(error, SupervisorError, `a SupervisorError: ${String(error)}`);
    assert.is((error as SupervisorError).reason, 'project-gone');
    assert.match(String(error), 'project shop is no longer applied', 'says what');
    assert.match(String(error), '`corral up -p shop`', 'says how to fix it');
  });
}

steps.run();
