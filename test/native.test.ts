import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { close, constants as fsConstants, existsSync, fstat, open as fsOpen, read, statSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { execa } from 'execa';
import * as native from '../src/native.js';
import { findLeaks } from './helpers/leaks.js';

// The addon against the real kernel: every test checks the effect (mountinfo, nsenter, cgroup
// files), not just that the promise resolved. Needs root.

interface Context {
  dir: string;
  project: string;
  children: ChildProcess[];
}

const test = suite<Context>('native addon', { dir: '', project: `t${process.pid}-native`, children: [] });

async function mountInfoLine(point: string): Promise<string | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((line) => line.split(' ')[4] === point).at(-1);
}

// The cgroup mounts directly under /sys/fs/cgroup: every v1 hierarchy (incl. name=systemd and the
// hybrid unified dir), or the single v2 root.
async function cgroupHierarchies(): Promise<string[]> {
  if (native.cgroupVersion() === 2) return ['/sys/fs/cgroup'];
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((line) => / - cgroup2? /.test(line)).map((line) => line.split(' ')[4] ?? '')
    .filter((point) => path.dirname(point) === '/sys/fs/cgroup');
}

function isTypeError(error: unknown): boolean {
  return error instanceof TypeError;
}

async function rejection(promise: Promise<unknown>): Promise<native.NativeError> {
  try {
    await promise;
  } catch (error) {
    return error as native.NativeError;
  }
  throw new Error('expected a rejection');
}

function startSleeper(context: Context): ChildProcess {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  context.children.push(child);
  return child;
}

function exitSignal(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

// Moves a process into the cgroup in every hierarchy, like runc would.
async function moveIntoCgroup(relPath: string, pid: number): Promise<void> {
  for (const root of await cgroupHierarchies()) await writeFile(`${root}/${relPath}/cgroup.procs`, String(pid));
}

test.before(async (context) => {
  await mkdir('/run', { recursive: true });
  context.dir = await mkdtemp('/run/corral-test-native-');
});

test.after(async (context) => {
  for (const child of context.children) child.kill('SIGKILL');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point.startsWith(`${context.dir}/`));
  for (const point of points.reverse()) await native.unmount(point, { detach: true });
  await native.killCgroup(`corral/${context.project}`);
  await native.removeCgroup(`corral/${context.project}`);
  await rm(context.dir, { recursive: true, force: true });
});

test('bad arguments throw a TypeError before reaching C++', () => {
  assert.throws(() => native.unmount('relative/path'), isTypeError);
  assert.throws(() => native.createPinnedNamespaces({ dir: '/run/x', types: ['pid' as native.NamespaceType] }), isTypeError);
  assert.throws(() => native.createPinnedNamespaces({ dir: '/run/x', types: ['net', 'net'] }), isTypeError);
  assert.throws(() => native.createCgroup('/corral/x'), isTypeError);
  assert.throws(() => native.createCgroup('corral/../x'), isTypeError);
  assert.throws(() => native.mount({ source: '/a', target: '/b', flags: ['bogus'] }), isTypeError);
  assert.throws(() => native.mountOverlay({ lower: ['/a:b'], upper: '/u', work: '/w', target: '/t' }), isTypeError);
  assert.throws(() => native.setCgroupLimits('corral/x', { memoryBytes: 1.5 }), isTypeError);
  assert.throws(() => native.readCgroupFile('memory', 'corral/x', '../etc/passwd'), isTypeError);
  const link = { netns: '/run/netns/x', ifName: 'eth0', hostEnd: 'veth00000000', bridge: 'br0', address: '10.0.0.2', prefixLength: 24 };
  assert.throws(() => native.linkPodToBridge({ ...link, ifName: 'eth0:1' }), isTypeError, 'an interface name the kernel refuses');
  assert.throws(() => native.linkPodToBridge({ ...link, hostEnd: 'veth-name-too-long' }), isTypeError, 'an interface name of 16 bytes or more');
  assert.throws(() => native.linkPodToBridge({ ...link, address: '10.0.0.256' }), isTypeError, 'an address that is not IPv4');
  assert.throws(() => native.linkPodToBridge({ ...link, prefixLength: 33 }), isTypeError, 'a prefix longer than 32');
  assert.throws(() => native.linkPodToBridge({ ...link, mac: '02:00:00:00:00' }), isTypeError, 'a MAC address of five bytes');
  assert.throws(() => native.unlinkPodInterface('run/netns/x', 'eth0'), isTypeError, 'a relative namespace path');
});

test('a failed syscall rejects with the errno shape', async (context) => {
  const error = await rejection(native.mountBind(`${context.dir}/missing`, `${context.dir}/also-missing`));
  assert.instance(error, Error);
  assert.is(error.message, `mount ${context.dir}/missing -> ${context.dir}/also-missing: No such file or directory`);
  assert.is(error.code, 'ENOENT');
  assert.is(error.errno, -2);
  assert.is(error.syscall, 'mount');
  assert.is(error.path, `${context.dir}/missing`);
  assert.is(error.dest, `${context.dir}/also-missing`);
});

test('pins net, ipc and uts namespaces with the hostname set and lo up', async (context) => {
  const nsDir = `${context.dir}/ns`;
  const pins = await native.createPinnedNamespaces({ dir: nsDir, types: ['net', 'ipc', 'uts'], hostname: 'corral-native' });
  assert.equal(pins, { net: `${nsDir}/net`, ipc: `${nsDir}/ipc`, uts: `${nsDir}/uts` });
  assert.is((await stat(nsDir)).mode & 0o777, 0o700);

  const link = await execa('nsenter', [`--net=${pins.net}`, 'ip', '-o', 'link', 'show', 'lo']);
  assert.match(link.stdout, /<[^>]*\bUP\b[^>]*>/);
  const hostname = await execa('nsenter', [`--uts=${pins.uts}`, 'hostname']);
  assert.is(hostname.stdout.trim(), 'corral-native');
  for (const type of ['net', 'ipc', 'uts'] as const) {
    assert.is.not(statSync(pins[type]).ino, statSync(`/proc/self/ns/${type}`).ino, `${type} is a new namespace`);
    assert.ok(await mountInfoLine(pins[type]), `${type} is pinned by a mount`);
  }
  // The main thread never entered anything.
  assert.is((await execa('hostname')).stdout.trim() === 'corral-native', false);

  for (const pin of Object.values(pins)) {
    await native.removePinnedNamespace(pin);
    assert.is(await mountInfoLine(pin), undefined);
    assert.not.ok(existsSync(pin));
    await native.removePinnedNamespace(pin);
  }
});

test('a failed pin undoes the pins already made', async (context) => {
  const nsDir = `${context.dir}/ns-fail`;
  await mkdir(`${nsDir}/uts`, { recursive: true });
  const error = await rejection(native.createPinnedNamespaces({ dir: nsDir, types: ['net', 'uts'], hostname: 'x' }));
  assert.is(error.code, 'EISDIR');
  assert.is(error.syscall, 'open');
  assert.is(error.path, `${nsDir}/uts`);
  assert.is(await mountInfoLine(`${nsDir}/net`), undefined);
  assert.not.ok(existsSync(`${nsDir}/net`));
});

test('mounts a sized, noexec tmpfs and unmounts it idempotently', async (context) => {
  const target = `${context.dir}/shm`;
  await mkdir(target);
  await native.mountTmpfs(target, { sizeBytes: 1024 * 1024, mode: 0o1777, noexec: true });
  const line = await mountInfoLine(target);
  assert.ok(line, 'tmpfs is mounted');
  assert.match(line, / - tmpfs tmpfs /);
  assert.match(line, /size=1024k/);
  assert.match(line, /nosuid/);
  assert.match(line, /nodev/);
  assert.match(line, /noexec/);
  assert.is((await stat(target)).mode & 0o7777, 0o1777);

  await native.unmount(target);
  assert.is(await mountInfoLine(target), undefined);
  await native.unmount(target);
  await native.unmount(`${context.dir}/never-existed`, { detach: true });
});

test('a read-only bind mount refuses writes', async (context) => {
  const source = `${context.dir}/bind-src`;
  const target = `${context.dir}/bind-dst`;
  await mkdir(source);
  await mkdir(target);
  await writeFile(`${source}/file`, 'hello');
  await native.mountBind(source, target, { readOnly: true });
  assert.is(await readFile(`${target}/file`, 'utf8'), 'hello');
  assert.match((await mountInfoLine(target)) ?? '', /^\S+ \S+ \S+ \S+ \S+ ro[, ]/);
  const error = await rejection(writeFile(`${target}/other`, 'x'));
  assert.is(error.code, 'EROFS');
  await native.unmount(target, { detach: true });
  assert.is(await mountInfoLine(target), undefined);
});

test('an overlay shows the lower files and writes land in upper', async (context) => {
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((name) => `${context.dir}/overlay/${name}`) as [string, string, string, string];
  for (const dir of [lower, upper, work, merged]) await mkdir(dir, { recursive: true });
  await writeFile(`${lower}/from-lower`, 'lower');
  await native.mountOverlay({ lower: [lower], upper, work, target: merged });
  assert.match((await mountInfoLine(merged)) ?? '', / - overlay overlay /);
  assert.is(await readFile(`${merged}/from-lower`, 'utf8'), 'lower');
  await writeFile(`${merged}/written`, 'upper');
  assert.is(await readFile(`${upper}/written`, 'utf8'), 'upper');
  assert.not.ok(existsSync(`${lower}/written`));
  await native.unmount(merged);
  assert.is(await mountInfoLine(merged), undefined);
});

test('cgroupVersion matches /sys/fs/cgroup', () => {
  assert.is(native.cgroupVersion(), existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1);
});

test('creates a cgroup in every hierarchy and sets its limits', async (context) => {
  const pod = `corral/${context.project}/pod`;
  await native.createCgroup(pod);
  await native.createCgroup(pod);
  const hierarchies = await cgroupHierarchies();
  assert.ok(hierarchies.length > 0);
  for (const root of hierarchies) assert.ok(existsSync(`${root}/${pod}`), `${root}/${pod} exists`);
  if (native.cgroupVersion() === 1) {
    assert.is(native.readCgroupFile('cpuset', pod, 'cpuset.cpus'), await readFile('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8'));
    assert.is(native.readCgroupFile('cpuset', pod, 'cpuset.mems'), await readFile('/sys/fs/cgroup/cpuset/cpuset.mems', 'utf8'));
  }

  await native.setCgroupLimits(pod, {
    memoryBytes: 64 * 1024 * 1024, memoryReservationBytes: 32 * 1024 * 1024, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pidsMax: 100,
  });
  if (native.cgroupVersion() === 1) {
    assert.is(native.readCgroupFile('memory', pod, 'memory.limit_in_bytes').trim(), String(64 * 1024 * 1024));
    assert.is(native.readCgroupFile('memory', pod, 'memory.soft_limit_in_bytes').trim(), String(32 * 1024 * 1024));
    assert.is(native.readCgroupFile('cpu', pod, 'cpu.cfs_quota_us').trim(), '50000');
    assert.is(native.readCgroupFile('cpu', pod, 'cpu.cfs_period_us').trim(), '100000');
  } else {
    assert.is(native.readCgroupFile('memory', pod, 'memory.max').trim(), String(64 * 1024 * 1024));
    assert.is(native.readCgroupFile('memory', pod, 'memory.low').trim(), String(32 * 1024 * 1024));
    assert.is(native.readCgroupFile('cpu', pod, 'cpu.max').trim(), '50000 100000');
  }
  assert.is(native.readCgroupFile('pids', pod, 'pids.max').trim(), '100');
  await native.setCgroupLimits(pod, { pidsMax: -1 });
  assert.is(native.readCgroupFile('pids', pod, 'pids.max').trim(), 'max');

  const error = await rejection(native.setCgroupLimits(`corral/${context.project}/missing`, { pidsMax: 5 }));
  assert.is(error.code, 'ENOENT');
  assert.is(error.syscall, 'open');
});

test('kills every process in a cgroup and its descendants', async (context) => {
  const project = `corral/${context.project}`;
  const container = `${project}/pod/app`;
  await native.createCgroup(container);
  const inPod = startSleeper(context);
  const inContainer = startSleeper(context);
  await moveIntoCgroup(`${project}/pod`, inPod.pid ?? 0);
  await moveIntoCgroup(container, inContainer.pid ?? 0);
  assert.is(native.readCgroupFile('pids', container, 'cgroup.procs').trim(), String(inContainer.pid));

  assert.is(await native.killCgroup(project), 2);
  assert.is(await exitSignal(inPod), 'SIGKILL');
  assert.is(await exitSignal(inContainer), 'SIGKILL');
  assert.is(await native.killCgroup(project), 0);
  if (native.cgroupVersion() === 1) assert.is(native.readCgroupFile('freezer', project, 'freezer.state').trim(), 'THAWED');
});

test('removes the cgroup tree everywhere, and missing cgroups are fine', async (context) => {
  const project = `corral/${context.project}`;
  await native.removeCgroup(project);
  for (const root of await cgroupHierarchies()) assert.not.ok(existsSync(`${root}/${project}`), `${root}/${project} is gone`);
  await native.removeCgroup(project);
  assert.is(await native.killCgroup(project), 0);
});

test('a project lock is exclusive: a second taker waits until the first lets go', async (context) => {
  const lockPath = path.join(context.dir, 'lock');
  const first = await native.lockFile(lockPath);
  let secondHolds = false;
  const second = native.lockFile(lockPath).then((fd) => {
    secondHolds = true;
    return fd;
  });
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.not.ok(secondHolds, 'the second taker waits while the first holds the lock');
  native.unlockFile(first);
  const fd = await second;
  assert.ok(secondHolds, 'the second taker gets the lock once it is released');
  assert.is(statSync(lockPath).mode & 0o777, 0o600, 'the lock file is root-only');
  native.unlockFile(fd);
});

test('isLockHeld tells a held lock from a free or missing one, without waiting or taking it', async (context) => {
  const lockPath = path.join(context.dir, 'held');
  assert.not.ok(native.isLockHeld(lockPath), 'no lock file: nobody holds it');
  assert.not.ok(existsSync(lockPath), 'asking creates no file');
  // Held by another process (flock(1) from util-linux) until its stdin closes.
  const holder = spawn('flock', ['-x', lockPath, 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  context.children.push(holder);
  // flock(1) takes it soon after it starts; waited for, bounded.
  for (let look = 0; look < 200 && !native.isLockHeld(lockPath); look++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(native.isLockHeld(lockPath), 'held by a live process');
  assert.ok(native.isLockHeld(lockPath), 'asking again does not take it either');
  holder.stdin!.end();
  await new Promise((resolve) => holder.once('exit', resolve));
  assert.not.ok(native.isLockHeld(lockPath), 'free once the holder is gone');
  const own = await native.lockFile(lockPath);
  assert.ok(native.isLockHeld(lockPath), 'held through another descriptor of this process too');
  native.unlockFile(own);
  assert.not.ok(native.isLockHeld(lockPath), 'free after unlockFile');
});

test('the lock file\'s descriptor is close-on-exec, so no child of the holder keeps the project locked', async (context) => {
  const fd = await native.lockFile(path.join(context.dir, 'lock'));
  const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(await readFile(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  native.unlockFile(fd);
  assert.ok(flags & 0o2000000, `O_CLOEXEC is among the flags ${flags.toString(8)}`);
});

test('an inherited descriptor above 16, which Node leaves open across exec, is marked close-on-exec', async (context) => {
  // A process given descriptor 100 by its caller (bash here) asks a child what it sees there, before and after.
  const script = [
    'import { execFileSync } from "node:child_process";',
    'const native = await import(process.argv[1]);',
    'const seen = () => { try { return execFileSync("readlink", ["/proc/self/fd/100"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { return "nothing"; } };',
    'const before = seen();',
    'native.markInheritedDescriptorsCloseOnExec();',
    'console.log(JSON.stringify({ before, after: seen() }));',
  ].join('\n');
  const given = path.join(context.dir, 'given-by-the-caller');
  const nativeModule = new URL('../src/native.js', import.meta.url).pathname;
  const result = await execa('bash', ['-c', 'exec "$@" 100>>"$0"', given, process.execPath, '--input-type=module', '-e', script, nativeModule], { reject: false });
  assert.is(result.exitCode, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout), { before: given, after: 'nothing' }, 'a child saw the caller\'s file before, and nothing after');
});

// A root with hostile symlinks, as a container could plant them, and a host file beside it that
// nothing resolved in the root may reach.
// The root has its own file at the sentinel's path: what a link to the sentinel must reach instead.
async function hostileRoot(dir: string, name: string): Promise<{ root: string; sentinel: string; rootFd: number }> {
  const root = `${dir}/${name}/root`;
  const sentinel = `${dir}/${name}/sentinel`;
  await mkdir(`${root}/etc`, { recursive: true });
  await mkdir(`${root}/data`);
  await mkdir(`${root}${path.dirname(sentinel)}`, { recursive: true });
  await writeFile(sentinel, 'host');
  await writeFile(`${root}/sentinel`, 'container');
  await writeFile(`${root}${sentinel}`, 'container, at the host path');
  await writeFile(`${root}/etc/passwd`, 'container passwd');
  await symlink(sentinel, `${root}/absolute`);
  await symlink('../../../../../sentinel', `${root}/data/dotdot`);
  await symlink(path.dirname(sentinel), `${root}/dirlink`);
  // As in a container: its /proc shows magic links (/proc/self/root) to anywhere on the host.
  await mkdir(`${root}/proc`);
  await native.mount({ source: '/proc', target: `${root}/proc`, flags: ['rbind'] });
  await symlink('/proc/self/root/etc/passwd', `${root}/magic`);
  const rootFd = await promisify(fsOpen)(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  return { root, sentinel, rootFd };
}

async function readAll(fd: number): Promise<string> {
  const buffer = Buffer.alloc(256);
  const { bytesRead } = await promisify(read)(fd, { buffer, position: 0 });
  return buffer.subarray(0, bytesRead).toString();
}

async function readInRoot(rootFd: number, file: string): Promise<string> {
  const fd = await native.openInRoot(rootFd, file, { flags: ['read'] });
  try {
    return await readAll(fd);
  } finally {
    await promisify(close)(fd);
  }
}

test('openInRoot resolves "..", absolute paths and symlinks inside the root, never to the host', async (context) => {
  const { root, sentinel, rootFd } = await hostileRoot(context.dir, 'read-in-root');
  try {
    assert.is(await readInRoot(rootFd, '/etc/passwd'), 'container passwd', 'an absolute path starts at the root');
    assert.is(await readInRoot(rootFd, '../../../etc/passwd'), 'container passwd', '".." stops at the root');
    assert.is(await readInRoot(rootFd, 'absolute'), 'container, at the host path', 'an absolute link to the host\'s sentinel reads the root\'s file at that path');
    assert.is(await readInRoot(rootFd, 'data/dotdot'), 'container', 'a "../.." link stops at the root');
    assert.is(await readInRoot(rootFd, 'dirlink/sentinel'), 'container, at the host path', 'a link in an intermediate dir resolves in the root');
    assert.is((await rejection(native.openInRoot(rootFd, 'magic', { flags: ['read'] }))).code, 'ELOOP', 'a magic link is refused');
    const linkFd = await native.openInRoot(rootFd, 'absolute', { flags: ['path', 'nofollow'] });
    assert.ok((await promisify(fstat)(linkFd)).isSymbolicLink(), 'path + nofollow opens the link itself');
    assert.is(await native.readLinkOf(linkFd), sentinel, 'readLinkOf gives its target');
    await native.changeOwnerOf(linkFd, { uid: 1234, gid: 5678 });
    await promisify(close)(linkFd);
    const linkStat = await lstat(`${root}/absolute`);
    assert.equal([linkStat.uid, linkStat.gid], [1234, 5678], 'changeOwnerOf changes the link, not what it points at');
    assert.is((await stat(sentinel)).uid, 0, 'the host sentinel keeps its owner');
    assert.is(await readFile(sentinel, 'utf8'), 'host', 'the host sentinel is unchanged');
  } finally {
    await promisify(close)(rootFd);
    await native.unmount(`${root}/proc`, { detach: true });
  }
});

test('creating through hostile links lands inside the root', async (context) => {
  const { root, sentinel, rootFd } = await hostileRoot(context.dir, 'create-in-root');
  try {
    const fd = await native.openInRoot(rootFd, 'absolute', { flags: ['write', 'create', 'truncate'], mode: 0o640 });
    await promisify(close)(fd);
    assert.is(await readFile(`${root}${sentinel}`, 'utf8'), '', 'writing through the absolute link truncated the root\'s file at the host path');
    await native.makeDirectoryInRoot(rootFd, 'dirlink/made', 0o700);
    assert.ok((await stat(`${root}${path.dirname(sentinel)}/made`)).isDirectory(), 'mkdir through a link in an intermediate dir lands in the root');
    await native.makeSymlinkInRoot(rootFd, 'data/../../../new-link', '/etc/shadow');
    assert.is((await lstat(`${root}/new-link`)).isSymbolicLink(), true, 'the new link is in the root');
    assert.is((await rejection(native.makeDirectoryInRoot(rootFd, 'absolute', 0o700))).code, 'EEXIST', 'mkdir never follows the last component');
    await native.removeInRoot(rootFd, 'absolute');
    assert.not.ok(existsSync(`${root}/absolute`), 'removeInRoot removed the link');
    assert.is(await readFile(sentinel, 'utf8'), 'host', 'the host sentinel is unchanged');
    assert.equal((await readdir(path.dirname(sentinel))).sort(), ['root', 'sentinel'], 'nothing was made beside the root');
    assert.throws(() => native.makeDirectoryInRoot(rootFd, 'a/..', 0o700), isTypeError);
    assert.throws(() => native.openInRoot(rootFd, 'x', { flags: ['append' as native.InRootOpenFlag] }), isTypeError);
  } finally {
    await promisify(close)(rootFd);
    await native.unmount(`${root}/proc`, { detach: true });
  }
});

test('leaves no mount under its dir and no cgroup behind', async (context) => {
  assert.equal(await findLeaks({ dirs: [context.dir], projects: [context.project] }), []);
  const hierarchies = await cgroupHierarchies();
  for (const root of hierarchies) {
    const corral = await readdir(`${root}/corral`).catch(() => [] as string[]);
    assert.not.ok(corral.includes(context.project), `${root}/corral/${context.project} is gone`);
  }
});

test.run();
