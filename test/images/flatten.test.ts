import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { flattenLayers } from '../../src/images/flatten.js';
import * as native from '../../src/native.js';

// The copy made where overlayfs cannot be used: layers in overlayfs' format (as the store keeps
// them), applied bottom first, must read as overlayfs would show them, and nothing a lower layer
// holds (a symlink out of the root) may send a write elsewhere.

const flatten = suite<{ dir: string }>('flattening layers into a private copy');

flatten.before.each(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-flatten-');
});
flatten.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

async function layer(dir: string, name: string, files: Record<string, string>, info?: { opaqueDirs: string[] }): Promise<string> {
  const root = path.join(dir, name);
  await mkdir(root, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    if (content.startsWith('->')) await symlink(content.slice(2), path.join(root, file));
    else if (content === 'WHITEOUT') await native.makeWhiteout(path.join(root, file));
    else await writeFile(path.join(root, file), content);
  }
  if (info) await writeFile(`${root}.json`, JSON.stringify({ size: 0, ...info }));
  return root;
}

flatten('whiteouts delete, opaque dirs hide, upper files win', async ({ dir }) => {
  const bottom = await layer(dir, 'bottom', { 'etc/a': 'a1', 'etc/b': 'b1', 'data/old': 'old', 'gone/deep/x': 'x' });
  const top = await layer(dir, 'top', { 'etc/a': 'a2', 'etc/b': 'WHITEOUT', gone: 'WHITEOUT', 'data/new': 'new', link: '->/etc/a' }, { opaqueDirs: ['data'] });
  const dest = path.join(dir, 'root');
  await flattenLayers([bottom, top], dest);
  assert.is(await readFile(path.join(dest, 'etc/a'), 'utf8'), 'a2');
  assert.not.ok(existsSync(path.join(dest, 'etc/b')), 'a whiteout deletes a file');
  assert.not.ok(existsSync(path.join(dest, 'gone')), 'and a whole directory');
  assert.equal(await readdir(path.join(dest, 'data')), ['new'], 'an opaque dir hides what is below');
  assert.is(await readlink(path.join(dest, 'link')), '/etc/a', 'symlinks are copied as they are');
  assert.equal((await readdir(dir)).sort(), ['bottom', 'root', 'top', 'top.json'], 'nothing half-built is left beside it');
});

flatten('a symlink of a lower layer never leads a write out of the copy', async ({ dir }) => {
  const outside = path.join(dir, 'outside');
  await mkdir(outside);
  const bottom = await layer(dir, 'bottom', { etc: `->${outside}`, opt: `->${outside}` });
  const top = await layer(dir, 'top', { 'etc/passwd': 'evil', 'opt/x': 'WHITEOUT' }, { opaqueDirs: ['opt'] });
  await writeFile(path.join(outside, 'x'), 'keep');
  const dest = path.join(dir, 'root');
  await flattenLayers([bottom, top], dest);
  assert.equal(await readdir(outside), ['x'], 'nothing written, opaqued or deleted outside');
  assert.is(await readFile(path.join(dest, 'etc/passwd'), 'utf8'), 'evil', 'the upper dir replaced the symlink inside the copy');
});

flatten.run();
