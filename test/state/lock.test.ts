import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeLockAndItsDir, withProjectLock } from '../../src/state/lock.js';

// The project lock while `down`s remove the run dir that holds the lock file: `up`s and `down`s in a
// loop, as the chaos race test runs them but many more times. Each gets the lock, none fails (a
// mkdir racing the removal used to fail with ENOENT), and no two are ever inside at once, up to the
// down's last step, which nothing may follow.

const lock = suite<{ dir: string }>('project lock while downs remove the run dir');

lock.before(async (context) => {
  context.dir = await mkdtemp('/run/corral-test-lock-');
});
lock.after((context) => rm(context.dir, { recursive: true, force: true }));

lock('ups and downs racing: every one takes the lock, one at a time, and none fails', async ({ dir }) => {
  const run = path.join(dir, 'project');
  const lockFile = path.join(run, 'lock');
  let inside = 0;
  let overlaps = 0;
  const enter = () => (inside++ > 0 ? overlaps++ : undefined);
  const up = () => withProjectLock(lockFile, async () => {
    enter();
    await mkdir(path.join(run, 'containers'), { recursive: true });
    await writeFile(path.join(run, 'containers', 'state'), 'up');
    inside--;
  });
  const down = () => withProjectLock(lockFile, async () => {
    enter();
    inside--;
    await removeLockAndItsDir(lockFile);
  });
  const loop = async (command: () => Promise<void>, times: number) => {
    for (let round = 0; round < times; round++) await command();
  };
  // Every loop runs to its end before anything is judged: a loop that failed must not leave the others
  // still making files while the suite removes its dir (that error would hide this one).
  const outcomes = await Promise.allSettled([loop(up, 150), loop(up, 150), loop(down, 150), loop(down, 150)]);
  const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error)?.stack ?? outcome.reason)] : []));
  assert.equal(failures, [], 'every up and down took the lock and did its work');
  assert.is(overlaps, 0, 'never two holders at once');
});

lock.run();
