import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, rmdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { writeFileAtomic } from '../../src/state/atomic.js';
import { StateWriteError } from '../../src/state/errors.js';

// Atomic writes proven on a real file system that runs out of space halfway through a write: the
// reader sees the old file whole, no temporary is left, and the error names the file and the cure.

const atomic = suite<{ dir: string }>('state: atomic writes on a full file system');

atomic.before(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-test-atomic-');
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', context.dir]);
});

atomic.after(async (context) => {
  await execa('umount', [context.dir], { reject: false });
  await rmdir(context.dir);
});

atomic('a write that runs out of space halfway leaves the old file whole and no temporary', async (context) => {
  const file = path.join(context.dir, 'state.json');
  const old = JSON.stringify({ generation: 1, padding: 'o'.repeat(100_000) });
  await writeFileAtomic(file, old);
  const { bavail, bsize } = await statfs(context.dir);
  await execa('fallocate', ['-l', String(bavail * bsize - 64 * 1024), path.join(context.dir, 'filler')]);

  const error = await writeFileAtomic(file, JSON.stringify({ generation: 2, padding: 'n'.repeat(300_000) })).catch((caught: unknown) => caught);
  assert.instance(error, StateWriteError, `the write fails with a StateWriteError: ${String(error)}`);
  assert.is((error as StateWriteError).code, 'ENOSPC');
  assert.match(String(error), `cannot write ${file}: no space left on device (ENOSPC)`, 'says what and where');
  assert.match(String(error), `free space on the file system of ${context.dir}`, 'says how to fix it');
  assert.is(await readFile(file, 'utf8'), old, 'the old content is whole');
  assert.equal((await readdir(context.dir)).sort(), ['filler', 'state.json'], 'no temporary is left');

  await rm(path.join(context.dir, 'filler'));
  await writeFileAtomic(file, JSON.stringify({ generation: 3 }));
  assert.equal(JSON.parse(await readFile(file, 'utf8')), { generation: 3 }, 'with space again the write works');
});

atomic('a read-only file system: the error says so and how to fix it', async (context) => {
  const file = path.join(context.dir, 'state.json');
  await execa('mount', ['-o', 'remount,ro', context.dir]);
  try {
    const error = await writeFileAtomic(file, '{}').catch((caught: unknown) => caught);
    assert.instance(error, StateWriteError);
    assert.match(String(error), `cannot write ${file}: read-only file system (EROFS)`);
    assert.match(String(error), 'remount it read-write');
    assert.equal(JSON.parse(await readFile(file, 'utf8')), { generation: 3 }, 'the old file is readable');
  } finally {
    await execa('mount', ['-o', 'remount,rw', context.dir]);
  }
});

atomic.run();
