import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { lockedFlagsOf, lockedFlagsOfSources, mountOf } from '../../src/runtime/locked-flags.js';
import { parseMountInfo } from '../../src/runtime/mounts.js';

// Which host mount a bind source lives on, and which of its flags the bind must restate.

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '26 22 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,mode=755',
  '27 22 0:25 / /run/user rw,nosuid,nodev,relatime - tmpfs tmpfs rw',
  '28 22 0:26 / /media/cd ro,nosuid,nodev,noatime - iso9660 /dev/sr0 ro',
  '29 22 0:27 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw',
  '30 22 0:28 / /with\\040space rw,noexec,relatime - tmpfs tmpfs rw',
  '31 26 0:29 / /run rw,relatime - tmpfs tmpfs rw',
  '',
].join('\n');
const table = parseMountInfo(MOUNTINFO);

const flags = suite('locked flags of a bind source\'s mount');

const cases: ReadonlyArray<[string, string, string[]]> = [
  ['a path on the root filesystem', '/var/lib/corral/volumes/data', []],
  ['a file on a tmpfs over /run, the later of two mounts on the same point', '/run/corral/p/pods/web/hosts', []],
  ['the deepest mount wins over its parent', '/run/user/1000/x', ['nosuid', 'nodev']],
  ['a read-only mount with noatime', '/media/cd/track', ['ro', 'nosuid', 'nodev', 'noatime']],
  ['a mount showing no atime mode is strictatime', '/dev/shm/x', ['nosuid', 'nodev', 'strictatime']],
  ['a mount point with an escaped space', '/with space/file', ['noexec']],
  ['a name that only starts like a mount point is not under it', '/media/cdrom', []],
];
for (const [name, source, expected] of cases) {
  flags(name, () => {
    const entry = mountOf(table, source);
    assert.ok(entry, `a mount holds ${source}`);
    assert.equal(lockedFlagsOf(entry!), expected, `${source} on ${entry!.point}`);
  });
}

flags('without the stacked /run mount, /run\'s nosuid, nodev and noexec are kept', () => {
  const entry = mountOf(table.filter((mount) => !(mount.point === '/run' && !mount.options.includes('nosuid'))), '/run/corral/hosts');
  assert.equal(lockedFlagsOf(entry!), ['nosuid', 'nodev', 'noexec'], 'the flags of systemd\'s /run');
});

flags('sources are resolved through symlinks, and looked up in this host\'s mount table', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'corral-locked-'));
  const mounted = path.join(dir, 'mounted');
  try {
    await mkdir(mounted);
    await execa('mount', ['-t', 'tmpfs', '-o', 'nosuid,noexec,noatime', 'tmpfs', mounted]);
    await mkdir(path.join(mounted, 'sub'));
    await symlink(path.join(mounted, 'sub'), path.join(dir, 'link'));
    const found = await lockedFlagsOfSources([path.join(dir, 'link'), dir]);
    assert.equal(found[path.join(dir, 'link')], ['nosuid', 'noexec', 'noatime'], 'the link takes the flags of the tmpfs it leads into');
    assert.not.equal(found[dir], found[path.join(dir, 'link')], `the dir above it takes those of its own mount: ${found[dir]!.join(',')}`);
  } finally {
    await execa('umount', [mounted], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
});

flags.run();
