import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, createSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// Binds that would hand a container the host or Corral itself are refused, by validate and by up,
// at their line and column and before anything is made; the allowed ones are mounted where they
// really lead, and a directory swapped for a symlink between the check and the mount is caught.

const LOOP = 'trap "exit 0" TERM; while true; do sleep 0.2; done';
const ROOTFS = '/var/lib/corral/rootfs/busybox';

/** The project file of one container `web/app` with these volumes entries (and more container keys). */
const appWith = (volumes: readonly string[], extra: readonly string[] = []) => [
  'pods:', '  web:', '    containers:', '      app:', `        rootfs: ${ROOTFS}`, '        command: ["true"]',
  ...extra.map((line) => `        ${line}`), '        volumes:', ...volumes.map((entry) => `          - ${entry}`), '',
].join('\n');

interface Expectation { readonly line: number; readonly col: number; readonly says: string }

/** The corpus format: the first line is `# expect: LINE:COL SUBSTRING`. */
function expectationOf(text: string, file: string): Expectation {
  const match = /^# expect: (\d+):(\d+) (.+)$/m.exec(text.split('\n')[0] ?? '');
  if (!match) throw new Error(`${file} does not start with "# expect: LINE:COL SUBSTRING"`);
  return { line: Number(match[1]), col: Number(match[2]), says: match[3]! };
}

/** validate and up -d both exit 1 with one line at LINE:COL saying what and how to fix; nothing is made. */
async function assertRefused(sandbox: Sandbox, file: string): Promise<void> {
  const expected = expectationOf(await readFile(file, 'utf8'), file);
  for (const command of [['validate'], ['up', '-d']]) {
    const result = await corral(sandbox, ['-f', file, ...command]);
    const first = result.stderr.trim().split('\n')[0] ?? '';
    assert.is(result.exitCode, 1, `${command[0]} ${file}: exit code 1 (stderr: ${result.stderr})`);
    assert.ok(first.startsWith(`corral: ${file}:${expected.line}:${expected.col}: `), `${command[0]}: names file, line and column ${expected.line}:${expected.col}: ${first}`);
    assert.ok(first.includes(expected.says), `${command[0]}: says "${expected.says}": ${first}`);
    assert.match(first, /\(.+\)$/, `${command[0]}: says how to fix it: ${first}`);
  }
  assert.equal(await readdir(sandbox.run), [], `${file}: nothing was created in the run dir`);
  assert.equal(await readdir(sandbox.state), [], `${file}: nothing was created in the state dir`);
}

const refused = suite<{ sandbox: Sandbox }>('binds refused before anything is made');

refused.before(async (context) => {
  context.sandbox = await createSandbox('bindsbad');
});
refused.after((context) => context.sandbox.dispose());

// The static bind-* cases of test/fixtures/bad are run by test/project/hostile-input.test.ts. Those with
// symlinks are written here, not kept in the repository: tools that walk the tree would follow them.
const symlinkCases: ReadonlyArray<{ name: string; links: (sandbox: Sandbox) => Record<string, string>; volume: string; says: string }> = [
  { name: 'a symlink to the active state dir', links: (sandbox) => ({ data: path.join(sandbox.state, 'projects') }), volume: './data:/data:ro', says: 'inside Corral\'s own state' },
  { name: 'a symlink to the default state dir', links: () => ({ data: '/var/lib/corral/projects' }), volume: './data:/data:ro', says: 'inside Corral\'s own state' },
  { name: 'a symlink into the active run dir', links: (sandbox) => ({ run: path.join(sandbox.run, 'some-project') }), volume: '{ type: bind, source: ./run, target: /run-dir, read_only: true }', says: 'inside Corral\'s own state' },
  { name: 'a chain of symlinks, the last to /run/corral', links: () => ({ a: 'b', b: '/run/corral' }), volume: './a/x:/x:ro', says: 'inside Corral\'s own state' },
  { name: 'a relative symlink climbing to /proc, bound read-write', links: () => ({ host: `${'../'.repeat(30)}proc` }), volume: './host:/host', says: 'kernel state (/proc)' },
  { name: 'a dangling symlink under the state dir, to be created', links: () => ({ new: '/var/lib/corral/projects/none/new' }), volume: './new:/new', says: 'inside Corral\'s own state' },
  { name: 'a symlink loop', links: () => ({ a: 'b', b: 'a' }), volume: './a:/a:ro', says: 'too many levels of symbolic links' },
];

for (const example of symlinkCases) {
  refused(`${example.name} is judged where it leads, and refused`, async (context) => {
    const dir = path.join(context.sandbox.work, example.name.replace(/\W+/g, '-'));
    await mkdir(dir);
    for (const [name, target] of Object.entries(example.links(context.sandbox))) await symlink(target, path.join(dir, name));
    // The volumes entry is on line 9, column 13: under the expect line and 7 lines of appWith.
    await writeFile(path.join(dir, 'corral.yaml'), `# expect: 9:13 ${example.says}\n${appWith([example.volume])}`);
    await assertRefused(context.sandbox, path.join(dir, 'corral.yaml'));
  });
}

refused.run();

interface Context { sandbox: Sandbox; project: string; file: string }
const mounted = suite<Context>('binds mounted where they lead, from inside containers');

const volumeData = (context: Context, volume: string) => path.join(context.sandbox.state, 'projects', context.project, 'volumes', volume, '_data');

/** Inside a container, what a script prints (stdout, trimmed). */
async function run(context: Context, resource: string, script: string) {
  const result = await inside(context.sandbox, context.project, resource.replace('/', '.'), script);
  return { code: result.exitCode, out: String(result.stdout).trim() };
}

const podsOf = (rootfs: string) => `
volumes:
  data: {}
  owned: {}
pods:
  monitor:
    containers:
      rootview:
        rootfs: ${rootfs}
        command: ["sh", "-c", '${LOOP}']
        volumes: ["/:/host:ro"]
      kernel:
        rootfs: ${rootfs}
        privileged: true
        command: ["sh", "-c", '${LOOP}']
        volumes: ["/proc:/hostproc"]
  planter:
    containers:
      plant:
        rootfs: ${rootfs}
        command: ["sh", "-c", 'ln -s / /vol/escape; ln -s ../.. /vol/up; mkdir -p /vol/inner && echo planted > /vol/inner/mark; ${LOOP}']
        volumes: ["data:/vol"]
  mapped:
    containers:
      root:
        rootfs: ${rootfs}
        userns: auto
        command: ["sh", "-c", 'touch /vol/by-root /made/by-root && echo written; ${LOOP}']
        volumes: ["owned:/vol", "./made-for-userns:/made"]
`;

const readerPod = (rootfs: string) => `
  reader:
    containers:
      read:
        rootfs: ${rootfs}
        command: ["sh", "-c", '${LOOP}']
        volumes:
          - { source: data, target: /absolute, subpath: escape }
          - { source: data, target: /relative, subpath: up }
          - { source: data, target: /through, subpath: escape/inner }
`;

mounted.before(async (context) => {
  Object.assign(context, await createProjectSandbox('binds'));
  await writeFile(context.file, podsOf(context.sandbox.env.CORRAL_ROOTFS!));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}${up.stdout}`);
});

mounted.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project, `${context.project}-swap`));

mounted('a read-only bind of / shows the host, and cannot change it', async (context) => {
  const seen = await run(context, 'monitor/rootview', 'cat /host/etc/hostname');
  assert.is(seen.out, (await readFile('/etc/hostname', 'utf8')).trim(), 'the host\'s /etc/hostname');
  assert.is.not((await run(context, 'monitor/rootview', `touch /host/tmp/${context.project}`)).code, 0, 'read-only');
});

mounted('a privileged container may bind /proc read-write: it sees the host\'s processes', async (context) => {
  const seen = await run(context, 'monitor/kernel', 'cat /hostproc/1/comm');
  assert.is(seen.out, (await readFile('/proc/1/comm', 'utf8')).trim(), 'host pid 1');
});

mounted('symlinks planted in a volume to / and ../.. keep a subpath mount inside the volume', async (context) => {
  await eventually(() => readFile(path.join(volumeData(context, 'data'), 'inner', 'mark'), 'utf8').then((text) => text || undefined), 'the planted links');
  await writeFile(context.file, podsOf(context.sandbox.env.CORRAL_ROOTFS!) + readerPod(context.sandbox.env.CORRAL_ROOTFS!));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}${up.stdout}`);
  const volume = (await readdir(volumeData(context, 'data'))).sort().join(' ');
  assert.is(volume, 'escape inner up', 'what the planter left in the volume');
  for (const target of ['/absolute', '/relative']) {
    assert.is((await run(context, 'reader/read', `ls ${target} | sort | xargs`)).out, volume, `${target} is the volume's root, not the host's`);
  }
  assert.is((await run(context, 'reader/read', 'cat /through/mark')).out, 'planted', 'escape/inner is inner of the volume');
});

mounted('userns: auto: what container root writes to a named volume and a made bind dir is the mapped range\'s on the host', async (context) => {
  await eventually(async () => ((await corral(context.sandbox, ['-p', context.project, 'logs', 'mapped/root'])).stdout.includes('written') ? true : undefined), 'the userns container\'s write');
  const runcRoot = path.join(context.sandbox.run, context.project, 'runc');
  const { pid } = JSON.parse(String((await execa('runc', ['--root', runcRoot, 'state', `${context.project}.mapped.root`])).stdout)) as { pid: number };
  const [, hostId] = (await readFile(`/proc/${pid}/uid_map`, 'utf8')).trim().split(/\s+/).map(Number);
  assert.ok(hostId! >= 2 ** 30, `container root is a high host id: ${hostId}`);
  for (const file of [path.join(volumeData(context, 'owned'), 'by-root'), path.join(context.sandbox.work, 'made-for-userns', 'by-root')]) {
    const info = await stat(file);
    assert.equal([info.uid, info.gid], [hostId, hostId], `${file} is owned by the mapped root, not the host's`);
  }
});

mounted('a bind source swapped for a symlink between the check and the mount: the container is not started', async (context) => {
  const project = `${context.project}-swap`;
  const dir = path.join(context.sandbox.work, 'swap');
  const victim = path.join(dir, 'victim');
  await mkdir(victim, { recursive: true });
  const runc = String((await execa('sh', ['-c', 'command -v runc'])).stdout).trim();
  // The runtime as an attacker would time it: the moment runc creates the container, the judged
  // directory becomes a symlink to Corral's own state.
  const wrapper = path.join(dir, 'runc-swapping');
  await writeFile(wrapper, [
    '#!/bin/sh',
    `case " $* " in *" create "*) [ -e ${dir}/swapped ] || { touch ${dir}/swapped; mv ${victim} ${victim}.judged; ln -s ${context.sandbox.state} ${victim}; } ;; esac`,
    `exec ${runc} "$@"`, '',
  ].join('\n'));
  await chmod(wrapper, 0o755);
  const file = path.join(dir, 'corral.yaml');
  await writeFile(file, appWith([`${victim}:/victim`]).replace('["true"]', `["sh", "-c", '${LOOP}']`));
  const swapping = { ...context.sandbox, env: { ...context.sandbox.env, CORRAL_RUNTIME: wrapper } };
  const up = await corral(swapping, ['-f', file, '-p', project, 'up', '-d']);
  assert.ok(await stat(path.join(dir, 'swapped')).then(() => true, () => false), 'the swap happened during runc create');
  assert.is.not(up.exitCode, 0, `up fails: ${up.stdout}`);
  assert.match(up.stderr, /bind source .*victim changed between its check and its mount at \/victim/, `says what happened: ${up.stderr}`);
  const list = JSON.parse(String((await execa('runc', ['--root', path.join(context.sandbox.run, project, 'runc'), 'list', '--format', 'json'])).stdout) || '[]') as unknown[] | null;
  assert.equal(list ?? [], [], 'no container is left, created or running');
  await rm(victim);
  await rename(`${victim}.judged`, victim);
});

mounted('a bind source swapped for a symlink while the container runs: a restart in place refuses to start it', async (context) => {
  const project = `${context.project}-swap`;
  const victim = path.join(context.sandbox.work, 'swap', 'victim');
  const up = await corral(context.sandbox, ['-f', path.join(context.sandbox.work, 'swap', 'corral.yaml'), '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 0, `with the directory back, up works: ${up.stderr}`);
  await rename(victim, `${victim}.judged`);
  await symlink(context.sandbox.state, victim);
  const restart = await corral(context.sandbox, ['-p', project, 'restart', 'web/app']);
  assert.is.not(restart.exitCode, 0, `restart fails: ${restart.stdout}`);
  assert.match(`${restart.stdout}${restart.stderr}`, /changed between its check and its mount at \/victim/, `says what happened: ${restart.stderr}`);
  const list = JSON.parse(String((await execa('runc', ['--root', path.join(context.sandbox.run, project, 'runc'), 'list', '--format', 'json'])).stdout) || '[]') as Array<{ status: string }> | null;
  assert.equal((list ?? []).filter((container) => container.status === 'running'), [], 'nothing runs with the swapped mount');
  await rm(victim);
  await rename(`${victim}.judged`, victim);
});

mounted.run();
