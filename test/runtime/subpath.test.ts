import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveInside } from '../../src/runtime/subpath.js';

// A subpath never leads out of its volume, whatever links a container planted in it.

const subpath = suite<{ dir: string; volume: string }>('subpath resolution inside a volume');

subpath.before.each(async (context) => {
  context.dir = await mkdtemp(path.join(os.tmpdir(), 'corral-subpath-'));
  context.volume = path.join(context.dir, 'volume');
  await mkdir(path.join(context.volume, 'app'), { recursive: true });
  await mkdir(path.join(context.dir, 'outside'));
  await writeFile(path.join(context.dir, 'outside', 'secret'), 'host');
});
subpath.after.each((context) => rm(context.dir, { recursive: true, force: true }));

subpath('a plain directory, and missing ones created', async ({ volume }) => {
  assert.is(await resolveInside(volume, 'app'), path.join(volume, 'app'), 'existing');
  assert.is(await resolveInside(volume, 'app/new/deeper'), path.join(volume, 'app/new/deeper'), 'created');
});

subpath('an absolute symlink resolves from the volume root, not the host root', async ({ dir, volume }) => {
  await symlink(path.join(dir, 'outside'), path.join(volume, 'escape'));
  const resolved = await resolveInside(volume, 'escape');
  assert.ok(resolved.startsWith(`${volume}/`), `stays inside: ${resolved}`);
});

subpath('a relative symlink with .. stops at the volume root', async ({ volume }) => {
  await symlink('../../../outside', path.join(volume, 'app', 'up'));
  assert.is(await resolveInside(volume, 'app/up'), path.join(volume, 'outside'), 'clamped at the root');
});

subpath('a symlink loop is refused', async ({ volume }) => {
  await symlink('b', path.join(volume, 'a'));
  await symlink('a', path.join(volume, 'b'));
  try {
    await resolveInside(volume, 'a');
    assert.unreachable('a loop must fail');
  } catch (error) {
    assert.match(String(error), /too many symbolic links/, 'ELOOP');
  }
});

subpath.run();
