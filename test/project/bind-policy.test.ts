import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bindRefusal, realHostPath } from '../../src/project/bind-policy.js';

// Which binds a container may have, judged on where a path really leads.

const real = suite<{ dir: string }>('where a host path really leads');

real.before.each(async (context) => {
  context.dir = await mkdtemp(path.join(os.tmpdir(), 'corral-real-path-'));
  await mkdir(path.join(context.dir, 'a', 'b'), { recursive: true });
});
real.after.each((context) => rm(context.dir, { recursive: true, force: true }));

real('plain, relative and absolute links, dangling links and missing tails', async ({ dir }) => {
  await symlink('a/b', path.join(dir, 'relative'));
  await symlink('/run/corral', path.join(dir, 'absolute'));
  await symlink('../../../../../../../../../../proc', path.join(dir, 'a', 'climb'));
  const cases: Array<[string, string]> = [
    [path.join(dir, 'a', 'b'), path.join(dir, 'a', 'b')],
    [path.join(dir, 'relative', 'c'), path.join(dir, 'a', 'b', 'c')],
    [path.join(dir, 'absolute', 'x', '..', 'y'), '/run/corral/y'],
    [path.join(dir, 'a', 'climb', 'sys'), '/proc/sys'],
    [path.join(dir, 'missing', '..', 'a'), path.join(dir, 'a')],
  ];
  for (const [given, expected] of cases) assert.is(realHostPath(given), expected, given);
});

real('a symlink loop is refused', async ({ dir }) => {
  await symlink('two', path.join(dir, 'one'));
  await symlink('one', path.join(dir, 'two'));
  assert.throws(() => realHostPath(path.join(dir, 'one')), /too many levels of symbolic links/, 'ELOOP');
});

real.run();

const policy = suite('which binds are refused');

const OWN = ['/run/corral', '/var/lib/corral/projects', '/run/corral-subnets'];
const table: Array<{ source: string; readOnly?: boolean; privileged?: boolean; says?: RegExp }> = [
  { source: '/run/corral', readOnly: true, privileged: true, says: /inside Corral's own state \(\/run\/corral\)/ },
  { source: '/var/lib/corral/projects/p/volumes', readOnly: true, says: /inside Corral's own state/ },
  { source: '/run/corral-subnets', privileged: true, says: /inside Corral's own state \(\/run\/corral-subnets\)/ },
  { source: '/run/corralx', readOnly: true },
  { source: '/', says: /read-write bind of \/ would let the container change the whole host/ },
  { source: '/', readOnly: true },
  { source: '/', privileged: true },
  { source: '/proc', says: /kernel state \(\/proc\)/ },
  { source: '/proc/sys/net', says: /kernel state \(\/proc\)/ },
  { source: '/proc', readOnly: true },
  { source: '/sys/fs/cgroup', says: /kernel state \(\/sys\)/ },
  { source: '/sys/fs/cgroup', privileged: true },
  { source: '/var', says: /change Corral's own state in \/var\/lib\/corral\/projects/ },
  { source: '/var', readOnly: true },
  { source: '/var/lib/corral/rootfs' },
  { source: '/srv/data' },
];

for (const entry of table) {
  policy(`${entry.source}${entry.readOnly ? ' read-only' : ''}${entry.privileged ? ' privileged' : ''}: ${entry.says ? 'refused' : 'allowed'}`, () => {
    const refusal = bindRefusal({ source: entry.source, readOnly: entry.readOnly ?? false, privileged: entry.privileged ?? false, ownDirs: OWN });
    if (!entry.says) return assert.is(refusal, undefined, 'allowed');
    assert.match(refusal?.what ?? '', entry.says, 'says why');
    assert.ok(refusal!.hint.length > 0, 'says how to fix');
  });
}

policy.run();
