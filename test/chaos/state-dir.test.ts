import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { psRows } from './observe.js';

// The state dir full or read-only during `up` of a changed file: the up fails with a clear error
// (what, where, how to fix), exits non-zero and changes nothing; the previously applied state stays
// whole and readable, and the next `up` once the disk is fixed works. The state dir is a small tmpfs
// of the test's own, so filling it or making it read-only touches nobody else.

interface Context {
  sandbox: Sandbox;
  project: string;
  file: string;
  applied: string;
  version: number;
}

const faults = suite<Context>('faults: state dir full or read-only during up');

/** A project whose applied record is about 40 kB (labels), so that a write can fail halfway through it. */
function projectFile(rootfs: string, version: number): string {
  const labels = Array.from({ length: 400 }, (_, index) => `      com.example.padding-${index}: "${'x'.repeat(64)}"`).join('\n');
  return `
pods:
  web:
    network: none
    labels:
${labels}
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { VERSION: "${version}" }
        restart: always
`;
}

faults.before(async (context) => {
  Object.assign(context, await createProjectSandbox('statedir'));
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', context.sandbox.state]);
  context.applied = path.join(context.sandbox.state, 'projects', context.project, 'applied.json');
  context.version = 1;
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!, context.version));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `the first up fails: ${up.stdout}\n${up.stderr}`);
});

faults.after(async (context) => {
  await execa('mount', ['-o', 'remount,bind,rw', context.sandbox.state], { reject: false });
  await rm(path.join(context.sandbox.state, 'filler'), { force: true });
  await corral(context.sandbox, ['-p', context.project, 'down']);
  // The tmpfs, and any earlier mount of it that a test moved aside while files were open in it.
  for (let attempt = 0; attempt < 5 && (await execa('umount', [context.sandbox.state], { reject: false })).exitCode === 0; attempt++);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `the suite leaves nothing behind, but left: ${leaks.join('; ')}`);
});

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

/** No temporary and no truncated or empty JSON file anywhere in the state dir. */
async function assertStateWhole(context: Context, label: string): Promise<void> {
  const files = await filesUnder(context.sandbox.state);
  assert.equal(files.filter((file) => file.endsWith('.tmp')), [], `${label}: no temporary file is left`);
  for (const file of files.filter((name) => name.endsWith('.json'))) {
    const text = await readFile(path.join(context.sandbox.state, file), 'utf8');
    try {
      JSON.parse(text);
    } catch (error) {
      assert.unreachable(`${label}: ${file} is not whole JSON (${text.length} bytes): ${String(error)}`);
    }
  }
}

/**
 * Breaks the state dir with `breakIt`, runs `up` of a changed file and checks that it fails clearly
 * and changes nothing; then `mendIt` and checks that the next `up` applies the change.
 */
async function upFailsCleanly(context: Context, options: { label: string; breakIt: () => Promise<void>; mendIt: () => Promise<void>; expect: RegExp; remedy: RegExp }) {
  const before = await readFile(context.applied, 'utf8');
  const pid = (await psRows(context.sandbox, context.project)).get('web/main')?.pid;
  assert.ok(pid, `${options.label}: web/main runs before`);
  context.version++;
  await writeFile(context.file, projectFile(context.sandbox.env.CORRAL_ROOTFS!, context.version));

  await options.breakIt();
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is.not(up.exitCode, 0, `${options.label}: up must fail: ${up.stdout}`);
  const said = up.stderr.split('\n')[0] ?? '';
  assert.match(said, `corral: cannot write ${context.applied}: `, `${options.label}: the error names the file: ${up.stderr}`);
  assert.match(said, options.expect, `${options.label}: the error says what: ${said}`);
  assert.match(said, options.remedy, `${options.label}: the error says how to fix it: ${said}`);
  assert.is(await readFile(context.applied, 'utf8'), before, `${options.label}: the applied state is the previous one, byte for byte, and readable`);
  assert.is((await psRows(context.sandbox, context.project)).get('web/main')?.pid, pid, `${options.label}: the running container was left alone`);
  await assertStateWhole(context, options.label);

  await options.mendIt();
  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(again.exitCode, 0, `${options.label}: up once mended fails: ${again.stdout}\n${again.stderr}`);
  const env = await inside(context.sandbox, context.project, 'web.main', 'echo $VERSION');
  assert.is(String(env.stdout).trim(), String(context.version), `${options.label}: the change is applied once mended`);
  assert.match(await readFile(context.applied, 'utf8'), `"VERSION": "${context.version}"`, `${options.label}: and recorded`);
  await assertStateWhole(context, `${options.label}, once mended`);
  process.stdout.write(`\n  faults: state dir ${options.label} -> up exit ${up.exitCode} ("${said.slice(0, 140)}..."), applied state kept, next up applied\n`);
}

const filler = (context: Context) => path.join(context.sandbox.state, 'filler');

/**
 * Puts a view of the state dir's file system with the given access in its place. A plain `remount,ro`
 * is refused while conmon and the supervisor hold logs open for writing; so a new mount of the same
 * tmpfs, read-only or not, replaces the old one, which lives on, detached, for the open files alone.
 * Corral sees what it would see after the kernel turned the file system read-only under it.
 */
async function replaceStateMount(context: Context, access: 'ro' | 'rw'): Promise<void> {
  const view = await mkdtemp('/tmp/corral-test-statedir-view-');
  await execa('mount', ['--bind', context.sandbox.state, view]);
  await execa('mount', ['-o', `remount,bind,${access}`, view]);
  await execa('umount', ['-l', context.sandbox.state]);
  await execa('mount', ['--move', view, context.sandbox.state]);
  await rmdir(view);
}

faults('read-only: up fails clearly, changes nothing, and works once remounted read-write', (context) => upFailsCleanly(context, {
  label: 'read-only',
  breakIt: () => replaceStateMount(context, 'ro'),
  mendIt: () => replaceStateMount(context, 'rw'),
  expect: /read-only file system \(EROFS\)/,
  remedy: /remount it read-write/,
}));

faults('full: up fails clearly, changes nothing, and works once space is freed', (context) => upFailsCleanly(context, {
  label: 'full',
  breakIt: async () => {
    const dd = await execa('dd', ['if=/dev/zero', `of=${filler(context)}`, 'bs=64k'], { reject: false });
    assert.match(String(dd.stderr), 'No space left on device', 'the state dir is full');
  },
  mendIt: () => rm(filler(context)),
  expect: /no space left on device \(ENOSPC\)/,
  remedy: /free space on the file system/,
}));

faults('nearly full: a write that fits only halfway leaves the old file whole and no temporary', (context) => upFailsCleanly(context, {
  label: 'nearly full (16 kB free for a 40 kB record)',
  breakIt: async () => {
    const { bavail, bsize } = await statfs(context.sandbox.state);
    await execa('fallocate', ['-l', String(bavail * bsize - 16 * 1024), filler(context)]);
    const left = await statfs(context.sandbox.state);
    assert.ok(left.bavail * left.bsize <= 16 * 1024 && (await readFile(context.applied)).length > 32 * 1024, 'the applied record is larger than the space left');
  },
  mendIt: () => rm(filler(context)),
  expect: /no space left on device \(ENOSPC\)/,
  remedy: /free space on the file system/,
}));

faults.run();
