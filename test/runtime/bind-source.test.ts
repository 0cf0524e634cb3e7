import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, mkdtemp, readlink, rm, symlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { judgedSource, prepareBindSource, verifyMountedSources } from '../../src/runtime/bind-source.js';
import type { Mount } from '../../src/project/model.js';
import { execa } from 'execa';

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

sources('a target behind an absolute symlink of the image is looked up from the container\'s root', async ({ dir }) => {
  // A process chrooted into `root` stands in for the container; its image has /var/run -> /run.
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'bin'), { recursive: true });
  await mkdir(path.join(root, 'run', 'app'), { recursive: true });
  await mkdir(path.join(root, 'var'));
  await symlink('/run', path.join(root, 'var', 'run'));
  await copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
  const container = execa('chroot', [root, '/bin/busybox', 'sleep', '10'], { reject: false });
  try {
    for (let attempt = 0; attempt < 100 && await readlink(`/proc/${container.pid}/root`).catch(() => '') !== root; attempt++) await sleep(20);
    const judged = await judgedSource('bind source ./run/app', path.join(root, 'run', 'app'), '/var/run/app');
    await verifyMountedSources(container.pid!, { judged: [judged], targets: [judged.target] });
  } finally {
    container.kill('SIGKILL');
    await container;
  }
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
