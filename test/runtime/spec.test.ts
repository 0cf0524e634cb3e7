import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, writeFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CAPABILITIES, generateSpec, INIT_PATH, type SpecInput, specText } from '../../src/runtime/spec.js';
import { resolveUser } from '../../src/runtime/users.js';
import { seccompForContainer } from '../../src/runtime/seccomp.js';
import { hostHardLimits } from '../../src/runtime/host.js';
import { ALL_CAPABILITIES } from '../../src/project/capabilities.js';
import { baselineContainer } from '../helpers/fixtures.js';

// What a container would get from the runtime, read from the generated config.json.

const spec = suite('OCI spec generation');

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    container: baselineContainer({ env: { GREETING: 'hi' }, workdir: '/srv' }),
    project: 'demo', hash: 'abc', user: { uid: 33, gid: 33, additionalGids: [100], home: '/var/www' },
    hostname: 'web', rootfs: '/run/corral/demo/containers/x/rootfs',
    joinNamespaces: { net: '/p/ns/net', ipc: '/p/ns/ipc', uts: '/p/ns/uts' },
    podFiles: { hosts: '/p/hosts', hostname: '/p/hostname', resolvConf: '/p/resolv.conf', shm: '/p/shm' },
    mounts: [], cgroupsPath: '/corral/demo/web/app', cgroupVersion: 1, nofileHardLimit: 20000,
    ...overrides,
  };
}

spec('joins the pod namespaces by path and gets its own pid and mount namespaces', () => {
  const namespaces = generateSpec(input()).linux.namespaces;
  assert.equal(namespaces, [
    { type: 'pid' }, { type: 'mount' },
    { type: 'network', path: '/p/ns/net' }, { type: 'ipc', path: '/p/ns/ipc' }, { type: 'uts', path: '/p/ns/uts' },
  ], 'namespaces');
  assert.not.ok('hostname' in generateSpec(input()), 'no hostname when the UTS namespace is joined');
  assert.is((generateSpec(input({ joinNamespaces: {} })) as { hostname?: string }).hostname, 'web', 'hostname set in a fresh UTS namespace');
});

spec('host namespaces are left out, a user namespace carries its maps, labels become annotations', () => {
  const container = baselineContainer({ labels: { 'com.example.role': 'api' } });
  const generated = generateSpec(input({
    container, hostNamespaces: ['pid', 'net'], podLabels: { team: 'core' },
    userns: { uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }], gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }] },
  })) as ReturnType<typeof generateSpec> & { linux: { uidMappings?: unknown }; annotations: Record<string, string> };
  assert.equal(generated.linux.namespaces.map((namespace) => namespace.type), ['mount', 'ipc', 'uts', 'user'], 'no pid or network namespace of its own; a user namespace');
  assert.equal(generated.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }], 'uid map');
  assert.is(generated.annotations['com.example.role'], 'api', 'container label');
  assert.is(generated.annotations.team, 'core', 'pod label');
  assert.not.ok(generated.mounts.some((mount) => mount.type === 'mqueue'), 'no mqueue in a joined IPC namespace of another user namespace');
  assert.is(generated.mounts.find((mount) => mount.destination === '/sys')!.type, 'bind', '/sys bound, not mounted, in the host network namespace');
});

spec('secure defaults: reduced capabilities, no new privileges, masked and read-only paths', () => {
  const generated = generateSpec(input());
  assert.equal(generated.process.capabilities.bounding, [...DEFAULT_CAPABILITIES], 'docker\'s default set');
  assert.not.ok(generated.process.capabilities.bounding.includes('CAP_SYS_ADMIN'), 'no CAP_SYS_ADMIN');
  assert.is(generated.process.noNewPrivileges, true, 'no_new_privileges');
  assert.ok(generated.linux.maskedPaths.includes('/proc/kcore'), '/proc/kcore is masked');
  assert.ok(generated.linux.readonlyPaths.includes('/proc/sys'), '/proc/sys is read-only');
});

spec('privileged is explicit: all capabilities, no masks, no seccomp, writable /sys', () => {
  const container = baselineContainer({ security: { ...baselineContainer().security, privileged: true } });
  const generated = generateSpec({ ...input({ container }), seccompProfile: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] } }) as ReturnType<typeof generateSpec> & { linux: { seccomp?: unknown } };
  assert.ok(generated.process.capabilities.bounding.includes('CAP_SYS_ADMIN'), 'CAP_SYS_ADMIN');
  assert.equal(generated.linux.maskedPaths, [], 'nothing masked');
  assert.is(generated.linux.seccomp, undefined, 'no seccomp filter');
  assert.not.ok(generated.mounts.find((mount) => mount.destination === '/sys')!.options.includes('ro'), '/sys writable');
});

spec('cap_drop ALL then cap_add keeps only what was added', () => {
  const container = baselineContainer({ security: { ...baselineContainer().security, capDrop: ['ALL'], capAdd: ['CAP_NET_BIND_SERVICE'] } });
  assert.equal(generateSpec(input({ container })).process.capabilities.effective, ['CAP_NET_BIND_SERVICE'], 'only the added one');
});

spec('a ulimit above the host hard limit is refused with the limit named', () => {
  const container = baselineContainer({ security: { ...baselineContainer().security, ulimits: { nofile: { soft: 100, hard: 50000 } } } });
  assert.throws(() => generateSpec(input({ container, nofileHardLimit: 20000 })), /nofile 50000 is above the host's hard limit 20000/, 'refused');
});

spec('without CAP_SYS_RESOURCE, a ulimit above the host\'s hard limit (unlimited included) is refused with the number to ask for; with it, it is written', () => {
  const withLimits = (ulimits: Record<string, { soft: number; hard: number }>) => baselineContainer({ security: { ...baselineContainer().security, ulimits } });
  const hardLimits = { memlock: 8388608, core: -1, nofile: 20000 };
  const noSysResource = ALL_CAPABILITIES.filter((name) => name !== 'CAP_SYS_RESOURCE');
  assert.throws(() => generateSpec(input({ container: withLimits({ memlock: { soft: -1, hard: -1 } }), hardLimits, boundingCapabilities: noSysResource })),
    /ulimit memlock unlimited is above this host's hard limit 8388608, which cannot be raised here .*ask for at most 8388608/);
  assert.throws(() => generateSpec(input({ container: withLimits({ memlock: { soft: 1, hard: 8388609 } }), hardLimits, boundingCapabilities: noSysResource })), /memlock 8388609 is above/);
  const within = generateSpec(input({ container: withLimits({ memlock: { soft: 4096, hard: 8388608 }, core: { soft: 0, hard: -1 } }), hardLimits, boundingCapabilities: noSysResource })).process.rlimits;
  assert.equal(within.map((limit: { type: string }) => limit.type), ['RLIMIT_CORE', 'RLIMIT_MEMLOCK', 'RLIMIT_NOFILE'], 'at or under the host\'s, and unlimited where the host is');
  const raised = generateSpec(input({ container: withLimits({ memlock: { soft: -1, hard: -1 } }), hardLimits, boundingCapabilities: ALL_CAPABILITIES })).process.rlimits;
  assert.equal(raised.find((limit: { type: string }) => limit.type === 'RLIMIT_MEMLOCK'), { type: 'RLIMIT_MEMLOCK', hard: -1, soft: -1 }, 'a host with CAP_SYS_RESOURCE raises it');
});

spec('the host\'s hard limits are read by ulimit name, -1 for unlimited', async () => {
  const limits = await hostHardLimits();
  assert.equal(Object.keys(limits).sort(), ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'].sort());
  assert.ok(Object.values(limits).every((value) => Number.isInteger(value) && value >= -1), JSON.stringify(limits));
});

spec('rlimits never exceed the host hard limit', () => {
  assert.equal(generateSpec(input({ nofileHardLimit: 20000 })).process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }], 'capped at 20000');
  assert.equal(generateSpec(input({ nofileHardLimit: 4_000_000 })).process.rlimits[0]!.hard, 1048576, 'otherwise 1048576');
});

spec('pod files, shm and volumes are mounted; env, user, cwd and hash are set', () => {
  const generated = generateSpec(input({
    mounts: [
      { type: 'bind', source: '/data', target: '/data', readOnly: true },
      { type: 'tmpfs', source: 'tmpfs', target: '/cache', readOnly: false, size: 1048576, mode: 0o1777 },
    ],
  }));
  const byTarget = Object.fromEntries(generated.mounts.map((mount) => [mount.destination, mount]));
  assert.is(byTarget['/dev/shm']?.source, '/p/shm', 'the pod shm');
  assert.is(byTarget['/etc/hosts']?.source, '/p/hosts', 'the pod hosts file');
  assert.is(byTarget['/etc/resolv.conf']?.source, '/p/resolv.conf', 'the pod resolv.conf');
  assert.ok(byTarget['/data']?.options.includes('ro'), 'read-only bind');
  assert.equal(byTarget['/cache']?.options, ['nosuid', 'nodev', 'size=1048576', 'mode=1777'], 'tmpfs size and mode');
  assert.ok(generated.process.env.includes('GREETING=hi'), 'container env');
  assert.ok(generated.process.env.includes('HOME=/var/www'), 'HOME from passwd');
  assert.equal(generated.process.user, { uid: 33, gid: 33, additionalGids: [100] }, 'user');
  assert.is(generated.process.cwd, '/srv', 'working dir');
  assert.is(generated.annotations['corral.hash'], 'abc', 'the config hash is recorded');
  assert.is(generated.linux.cgroupsPath, '/corral/demo/web/app', 'a child cgroup of the pod');
});

// docker's and podman's default: a private cgroup namespace on v2, the host's on v1.
spec('on cgroup v2 a container gets a cgroup namespace of its own; on v1 it keeps the host\'s', () => {
  const types = (cgroupVersion: 1 | 2, overrides: Partial<SpecInput> = {}) => generateSpec(input({ cgroupVersion, ...overrides })).linux.namespaces.map((namespace) => namespace.type);
  assert.ok(types(2).includes('cgroup'), `a cgroup namespace on v2: ${types(2).join(', ')}`);
  assert.not.ok(types(1).includes('cgroup'), `none on v1: ${types(1).join(', ')}`);
  const userns = { uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }], gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }] };
  assert.ok(types(2, { userns }).includes('cgroup'), 'and with a user namespace');
  const cgroupMount = generateSpec(input({ cgroupVersion: 2 })).mounts.find((mount) => mount.destination === '/sys/fs/cgroup');
  assert.is(cgroupMount?.type, 'cgroup', '/sys/fs/cgroup is a cgroup mount (runc mounts cgroup2 rooted at the namespace)');
});

// Under systemd /run is nosuid,nodev,noexec: the pod files' binds must restate that, or in a user
// namespace the kernel refuses their read-only remount (EPERM).
spec('binds keep the locked flags of the mount their source lives on', () => {
  const runFlags = ['nosuid', 'nodev', 'noexec'];
  const generated = generateSpec(input({
    mounts: [
      { type: 'bind', source: '/run/x/secret', target: '/secret', readOnly: true },
      { type: 'bind', source: '/data', target: '/data', readOnly: false },
      { type: 'bind', source: '/media/cd', target: '/cd', readOnly: false },
      { type: 'bind', source: '/srv/plain', target: '/plain', readOnly: false },
    ],
    bindSourceFlags: { '/p/hosts': runFlags, '/p/hostname': runFlags, '/p/resolv.conf': runFlags, '/p/shm': ['noexec', 'strictatime'], '/run/x/secret': runFlags, '/data': ['nodev', 'noatime'], '/media/cd': ['ro', 'nosuid'] },
  }));
  const optionsOf = (target: string) => generated.mounts.find((mount) => mount.destination === target)?.options;
  for (const target of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/secret']) {
    assert.equal(optionsOf(target), ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', 'ro'], `${target}: read-only, and nosuid, nodev, noexec as its source's mount`);
  }
  assert.equal(optionsOf('/dev/shm'), ['rbind', 'nosuid', 'noexec', 'nodev', 'strictatime'], 'shm: its own flags and its mount\'s atime mode, each once');
  assert.equal(optionsOf('/data'), ['rbind', 'rprivate', 'nodev', 'noatime', 'rw'], 'a read-write bind keeps nodev and noatime');
  assert.equal(optionsOf('/cd'), ['rbind', 'rprivate', 'nosuid', 'ro'], 'a bind of a read-only mount stays read-only');
  assert.equal(optionsOf('/plain'), ['rbind', 'rprivate', 'rw'], 'a source with no locked flags (none listed) as before');
});

const users = suite('user resolution against the rootfs');
let rootfs = '';
users.before(async () => {
  rootfs = await mkdtemp(path.join(os.tmpdir(), 'corral-users-'));
  await mkdir(path.join(rootfs, 'etc'));
  await writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nwww-data:x:33:\nusers:x:100:app,www-data\napp:x:1000:\n');
});
users.after(() => rm(rootfs, { recursive: true, force: true }));

const userCases: [string, { uid: number; gid: number; additionalGids: number[] }][] = [
  ['www-data', { uid: 33, gid: 33, additionalGids: [100] }],
  ['1000', { uid: 1000, gid: 1000, additionalGids: [100] }],
  ['app:www-data', { uid: 1000, gid: 33, additionalGids: [100] }],
  ['4242:4343', { uid: 4242, gid: 4343, additionalGids: [] }],
  ['4242', { uid: 4242, gid: 0, additionalGids: [] }],
];
for (const [user, expected] of userCases) {
  users(`"${user}" resolves from /etc/passwd and /etc/group`, async () => {
    const resolved = await resolveUser(rootfs, user);
    assert.equal({ uid: resolved.uid, gid: resolved.gid, additionalGids: resolved.additionalGids }, expected, user);
  });
}
users('an unknown user name is an error that says how to fix it', async () => {
  try {
    await resolveUser(rootfs, 'nosuch');
    assert.unreachable('should fail');
  } catch (error) {
    assert.match((error as Error).message, /"nosuch" is not in the rootfs' \/etc\/passwd/, 'names the user and the file');
  }
});

async function refusesRoot(rootfs: string): Promise<void> {
  try {
    await resolveUser(rootfs, 'root');
    assert.unreachable('root was found: the host\'s /etc/passwd was read');
  } catch (error) {
    assert.match((error as Error).message, /"root" is not in the rootfs' \/etc\/passwd/);
  }
}

users('an image whose /etc is a link out of its root: its names come from inside the root, never the host\'s /etc', async () => {
  const hostile = await mkdtemp(path.join(os.tmpdir(), 'corral-users-hostile-'));
  try {
    // The host's /etc/passwd has root; the image's /etc points at the host's /etc (absolute, and by ..).
    await symlink('/etc', path.join(hostile, 'etc'));
    await refusesRoot(hostile);
    await rm(path.join(hostile, 'etc'));
    await symlink('../../../../../../../../etc', path.join(hostile, 'etc'));
    await refusesRoot(hostile);
    // A link that stays inside the root is followed, as the container would.
    await rm(path.join(hostile, 'etc'));
    await mkdir(path.join(hostile, 'real-etc'));
    await writeFile(path.join(hostile, 'real-etc/passwd'), 'svc:x:4321:4321::/srv:/bin/sh\n');
    await symlink('/real-etc', path.join(hostile, 'etc'));
    assert.is((await resolveUser(hostile, 'svc')).uid, 4321);
  } finally {
    await rm(hostile, { recursive: true, force: true });
  }
});

spec('init: catatonit, mounted read-only from the host, runs first and starts the command', () => {
  const container = baselineContainer({ initProcess: true });
  const generated = generateSpec(input({ container, initBinary: '/usr/bin/catatonit' }));
  assert.equal(generated.process.args, [INIT_PATH, '--', 'sleep', '3600'], 'catatonit is PID 1 and runs argv after --');
  const mount = generated.mounts.find((entry) => entry.destination === INIT_PATH);
  assert.equal(mount && { source: mount.source, readOnly: mount.options.includes('ro') }, { source: '/usr/bin/catatonit', readOnly: true }, 'the host binary, read-only');
  assert.equal(generateSpec(input()).process.args, ['sleep', '3600'], 'without init: the command as it is');
  assert.throws(() => generateSpec(input({ container })), /catatonit/, 'init without catatonit on the host is refused, naming it');
});

spec('devices: each node made with the host numbers, and the device cgroup allows it with its permissions', () => {
  const devices = [{ path: '/dev/myzero', type: 'c' as const, major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0, access: 'r' }];
  const generated = generateSpec(input({ devices })) as ReturnType<typeof generateSpec> & { linux: { devices?: unknown } };
  assert.equal(generated.linux.devices, [{ path: '/dev/myzero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 }], 'the node');
  assert.equal(generated.linux.resources.devices, [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }], 'all denied but the given node (runc adds its defaults)');
  assert.not.ok('devices' in generateSpec(input()).linux, 'no devices: no nodes');
  const privileged = generateSpec(input({ devices, container: baselineContainer({ security: { ...baselineContainer().security, privileged: true } }) }));
  assert.equal(privileged.linux.resources.devices, [{ allow: true, access: 'rwm' }], 'privileged: every device already');
});

spec('config.json writes an unlimited rlimit (-1) as RLIM_INFINITY, exactly; everything else as JSON', () => {
  const text = specText({ process: { rlimits: [{ type: 'RLIMIT_MEMLOCK', hard: -1, soft: -1 }, { type: 'RLIMIT_CORE', hard: -1, soft: 0 }] }, annotations: { soft: '-1', note: 'rlim-infinity' } });
  assert.match(text, /"hard": 18446744073709551615,\n\s+"soft": 18446744073709551615\n/, 'a bare uint64, as runc reads it');
  assert.match(text, /"soft": 0\n/);
  assert.equal(JSON.parse(text).annotations, { soft: '-1', note: 'rlim-infinity' }, 'strings stay strings');
  assert.ok(text.endsWith('}\n'));
});

spec.run();
users.run();

const seccomp = suite('seccomp from the standard profile');

const profile = {
  defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38,
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], includes: {}, excludes: {} },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] }, excludes: {} },
    { names: ['chroot'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, includes: {}, excludes: { caps: ['CAP_SYS_CHROOT'] } },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] }, excludes: {} },
    { names: ['s390_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['s390x'] }, excludes: {} },
  ],
};

seccomp('keeps the rules for the granted capabilities and this architecture only', () => {
  const filter = seccompForContainer(profile, ['CAP_SYS_CHROOT'], 'x64');
  assert.equal(filter.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], 'architectures of the host');
  assert.equal(filter.syscalls.map((rule) => rule.names.join(',')), ['read,write', 'arch_prctl'], 'rules kept');
  assert.is(filter.defaultErrnoRet, 38, 'ENOSYS for unknown syscalls');
});

seccomp('a container with the default capabilities gets a filter in its spec', () => {
  const generated = generateSpec({ ...input(), seccompProfile: profile }) as { linux: { seccomp?: { defaultAction: string } } };
  assert.is(generated.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO', 'the filter is in linux.seccomp');
});

seccomp.run();
