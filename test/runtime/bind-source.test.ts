import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { judgedSource, prepareBindSource, verifyMountedSources } from '../../src/runtime/bind-source.js';
import type { Mount } from '../../src/project/model.js';

// What is mounted must be what was judged. This process stands in for the created container: its
// /proc/PID/root is the host's root, so a target is the host path itself.

const sources = suite<{ dir: string }>('bind sources judged, made and verified');

sources.before.each(async (context) => {
  context.dir = await mkdtemp(path.join(os.tmpdir(), 'corral-bind-source-'));
  await mkdir(path.join(context.dir, 'judged'));
  await mkdir(path.join(context.dir, 'other'));
});
sources.after.each((context) => rm(context.dir, { recursive: true, force: true }));

const bind = (source: string, more: Partial<Mount> = {}): Mount => ({ type: 'bind', source, target: '/x', readOnly: false, ...more });

sources('the same directory passes; another one at the target is caught', async ({ dir }) => {
  const judged = await judgedSource('bind source ./judged', path.join(dir, 'judged'), path.join(dir, 'judged'));
  await verifyMountedSources(process.pid, { judged: [judged], targets: [judged.target] });
  const swapped = { ...judged, target: path.join(dir, 'other') };
  try {
    await verifyMountedSources(process.pid, { judged: [swapped], targets: [swapped.target] });
    assert.unreachable('another directory must fail');
  } catch (error) {
    assert.match(String(error), /bind source \.\/judged changed between its check and its mount/, 'refused, saying what');
  }
});

sources('a mount hidden under a later one is not looked at', async ({ dir }) => {
  const hidden = { ...(await judgedSource('bind source ./judged', path.join(dir, 'judged'), path.join(dir, 'judged'))), target: path.join(dir, 'other') };
  await verifyMountedSources(process.pid, { judged: [hidden], targets: [hidden.target, dir] });
});

sources('a source is mounted where it really leads, and judged there', async ({ dir }) => {
  await symlink(path.join(dir, 'judged'), path.join(dir, 'link'));
  assert.is(await prepareBindSource(bind(path.join(dir, 'link')), { privileged: false, ownDirs: [] }), path.join(dir, 'judged'), 'the real path');
  await symlink(dir, path.join(dir, 'own'));
  try {
    await prepareBindSource(bind(path.join(dir, 'own', 'judged'), { readOnly: true }), { privileged: true, ownDirs: [dir] });
    assert.unreachable('Corral\'s own dir must be refused');
  } catch (error) {
    assert.match(String(error), /inside Corral's own state/, 'refused at run time too');
  }
});

sources('a missing source is made only when the mount asks', async ({ dir }) => {
  try {
    await prepareBindSource(bind(path.join(dir, 'missing')), { privileged: false, ownDirs: [] });
    assert.unreachable('a missing source must fail');
  } catch (error) {
    assert.match(String(error), /does not exist.*create_host_path/, 'says how to fix');
  }
  assert.is(await prepareBindSource(bind(path.join(dir, 'made'), { createHostPath: true }), { privileged: false, ownDirs: [] }), path.join(dir, 'made'), 'made');
});

sources.run();
