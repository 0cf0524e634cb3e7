import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { assertSetUp, visibleSetup, type SetupState } from '../helpers/visible-setup.js';

// Under systemd /run is a tmpfs mounted nosuid,nodev,noexec, and Corral's run dir (the pod's hosts,
// hostname, resolv.conf, the secrets) lives there. In a user namespace the kernel locks those flags,
// and the runtime's read-only remount of a bind that leaves them out fails with EPERM: no
// user-namespaced container started on such a host. Here the run dir of the sandbox is such a tmpfs,
// and so is a directory bound into the containers, read-only and read-write.

interface Context extends SetupState { sandbox: Sandbox; project: string; file: string; shared: string }
const locked = suite<Context>('binds from nosuid,nodev,noexec mounts (systemd\'s /run) into user-namespaced containers');

const LOOP = 'trap "exit 0" TERM; while true; do sleep 0.2; done';
const LOCKED = 'nosuid,nodev,noexec';
/** Each watched mount point and its per-mount options, as the container's /proc/self/mountinfo shows them ($$: not interpolated). */
const REPORT = 'while read id parent dev root point options rest; do case $$point in /etc/hosts|/etc/resolv.conf|/ro-data|/rw-data|/run/secrets/token) echo "$$point $$options";; esac; done < /proc/self/mountinfo; echo reported';

locked.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('lockedflags', 'locked'));
  await execa('mount', ['-t', 'tmpfs', '-o', `${LOCKED},mode=700`, 'tmpfs', context.sandbox.run]);
  context.shared = path.join(context.sandbox.work, 'shared');
  await mkdir(context.shared);
  await execa('mount', ['-t', 'tmpfs', '-o', `${LOCKED},mode=755`, 'tmpfs', context.shared]);
  await writeFile(path.join(context.shared, 'file'), 'shared\n');
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const container = (userns: boolean) => [
    `        rootfs: ${rootfs}`,
    ...(userns ? ['        userns: auto'] : []),
    `        command: ["sh", "-c", '${REPORT}; ${LOOP}']`,
    '        secrets: [token]',
    '        volumes: ["./shared:/ro-data:ro", "./shared:/rw-data"]',
  ];
  await writeFile(context.file, [
    'secrets:', '  token: { content: "t0ps3cret" }',
    'pods:',
    '  mapped:', '    containers:', '      root:', ...container(true),
    '  plain:', '    containers:', '      root:', ...container(false),
    '',
  ].join('\n'));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}${up.stdout}`);
}));

locked.after(async (context) => {
  if (!context.sandbox) return;
  await corral(context.sandbox, ['-p', context.project, 'down']);
  // Looked for while the run dir is still mounted (what is left there would be hidden under it), the tmpfs itself apart.
  const leaks = (await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] })).filter((leak) => leak !== `mount ${context.sandbox.run}`);
  for (const mounted of [context.shared, context.sandbox.run]) if (mounted) await execa('umount', [mounted]);
  await context.sandbox.dispose();
  assert.equal(leaks, [], `the suite leaves nothing behind, but left: ${leaks.join('; ')}`);
});

/** The options of each watched mount, by mount point, from the report of the container's log. */
async function reportedMounts(context: Context, resource: string): Promise<Record<string, string[]>> {
  const logs = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.project, 'logs', resource]);
    return result.stdout.includes('reported') ? result.stdout : undefined;
  }, `the report of ${resource}`);
  const lines = logs.trim().split('\n').map((line) => line.replace(/^.*?\|\s?/, '').trim()).filter((line) => line.startsWith('/'));
  return Object.fromEntries(lines.map((line) => [line.split(' ')[0]!, line.split(' ')[1]!.split(',')]));
}

function assertKeeps(mounts: Record<string, string[]>, point: string, expected: { readOnly: boolean }): void {
  const options = mounts[point];
  assert.ok(options, `${point} is mounted: ${JSON.stringify(mounts)}`);
  assert.is(options![0], expected.readOnly ? 'ro' : 'rw', `${point} is ${expected.readOnly ? 'read-only' : 'read-write'}: ${options!.join(',')}`);
  for (const flag of LOCKED.split(',')) assert.ok(options!.includes(flag), `${point} keeps ${flag} of its source's mount: ${options!.join(',')}`);
}

// runc 1.1 cannot exec into a user-namespaced container that joined the pod's namespaces, so the
// container reports its mounts in its log (as in spec-keys).
locked('userns: auto: the container starts, its pod files, secret and binds keep nosuid,nodev,noexec', async (context) => {
  assertSetUp(context);
  const ps = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  const rows = JSON.parse(ps.stdout) as { pod: string; container: string; state: string }[];
  assert.is(rows.find((row) => row.pod === 'mapped')?.state, 'running', `the user-namespaced container runs: ${ps.stdout}${ps.stderr}`);
  const mounts = await reportedMounts(context, 'mapped/root');
  for (const point of ['/etc/hosts', '/etc/resolv.conf', '/ro-data', '/run/secrets/token']) assertKeeps(mounts, point, { readOnly: true });
  assertKeeps(mounts, '/rw-data', { readOnly: false });
});

locked('without a user namespace the binds keep the same flags: a read-only bind is not remounted into more', async (context) => {
  assertSetUp(context);
  const mounts = await reportedMounts(context, 'plain/root');
  for (const point of ['/etc/hosts', '/ro-data', '/run/secrets/token']) assertKeeps(mounts, point, { readOnly: true });
  assertKeeps(mounts, '/rw-data', { readOnly: false });
  const written = await inside(context.sandbox, context.project, 'plain.root', 'echo more >> /rw-data/file && cat /rw-data/file');
  assert.is(String(written.stdout), 'shared\nmore', `the read-write bind is writable: ${String(written.stderr)}`);
});

locked.run();
