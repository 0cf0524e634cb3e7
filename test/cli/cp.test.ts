import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseCopyArgument, planCopy, type CopyDestination, type CopySource } from '../../src/cli/copy-plan.js';
import { Readable, PassThrough } from 'node:stream';
import { archivePath, writeTar } from '../../src/runtime/tar-entries.js';
import type { CopyEntry } from '../../src/runtime/copy-entry.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { cliEntry, corral, createProjectSandbox, downAndAssertNothingLeaks, inside, type ProjectSandbox } from '../helpers/sandbox.js';

// `corral cp` both ways between the host and a container, and what no symlink in the container may
// do: make cp read or write a host path. A sentinel file on the host, links planted in the container
// at it and at its directory (absolute, "../..", in a middle component, swapped while cp runs): the
// sentinel stays as it was, nothing appears beside it, and cp gets the container's own file or says
// there is none.

const planning = suite('cp: docker cp\'s rules');

const labels = { source: 'web/app:', destination: '' };
const plan = (source: CopySource, destination: Partial<CopyDestination> & { path: string }) => planCopy(source, { kind: undefined, parentKind: 'directory', ...destination }, labels);

planning('a file onto a file, into a directory, onto a new name; a directory into one, or its contents only', () => {
  assert.equal(plan({ path: '/etc/hosts', kind: 'file' }, { path: '/tmp/x', kind: 'file' }), { into: '/tmp', name: 'x' }, 'replaces the file');
  assert.equal(plan({ path: '/etc/hosts', kind: 'file' }, { path: '/tmp', kind: 'directory' }), { into: '/tmp', name: 'hosts' }, 'keeps its name in a directory');
  assert.equal(plan({ path: '/etc/hosts', kind: 'file' }, { path: '/tmp/new' }), { into: '/tmp', name: 'new' }, 'takes a new name');
  assert.equal(plan({ path: '/etc', kind: 'directory' }, { path: '/tmp', kind: 'directory' }), { into: '/tmp', name: 'etc' }, 'a directory keeps its name');
  assert.equal(plan({ path: '/etc/.', kind: 'directory' }, { path: '/tmp', kind: 'directory' }), { into: '/tmp', name: '.' }, 'dir/. copies what is in it');
  assert.equal(plan({ path: '/etc/', kind: 'directory' }, { path: '/tmp/new/' }), { into: '/tmp', name: 'new' }, 'a directory onto a missing path is made');
});

planning('what docker cp refuses, it refuses, naming the path', () => {
  const refusal = (source: CopySource, destination: Partial<CopyDestination> & { path: string }) => {
    try {
      plan(source, destination);
    } catch (error) {
      return (error as Error).message;
    }
    return 'no refusal';
  };
  assert.match(refusal({ path: '/etc/hosts/', kind: 'file' }, { path: '/tmp', kind: 'directory' }), 'web/app:/etc/hosts/ is not a directory');
  assert.match(refusal({ path: '/etc', kind: 'directory' }, { path: '/tmp/x', kind: 'file' }), 'cannot copy the directory web/app:/etc onto /tmp/x');
  assert.match(refusal({ path: '/etc/hosts', kind: 'file' }, { path: '/tmp/new/' }), 'the destination directory /tmp/new/ does not exist');
  assert.match(refusal({ path: '/etc/hosts', kind: 'file' }, { path: '/missing/x', parentKind: undefined }), 'the directory of /missing/x does not exist');
});

planning('arguments: a container side by its name and a colon, - for a tar stream; archive paths stay below the destination', () => {
  assert.equal(parseCopyArgument('web/app:/etc'), { kind: 'container', resource: 'web/app', path: '/etc' });
  assert.equal(parseCopyArgument('web:etc/hosts'), { kind: 'container', resource: 'web', path: '/etc/hosts' }, 'relative to the container\'s root');
  assert.equal(parseCopyArgument('./a:b'), { kind: 'host', path: './a:b' });
  assert.equal(parseCopyArgument('/tmp/x'), { kind: 'host', path: '/tmp/x' });
  assert.equal(parseCopyArgument('-'), { kind: 'stdio' });
  assert.is(archivePath('/etc/./hosts'), 'etc/hosts');
  assert.is(archivePath('./'), '.');
  assert.throws(() => archivePath('a/../../etc/passwd'), /leaves the destination directory/);
});

planning.run();

interface Context extends ProjectSandbox, SetupState {
  /** The host directory no link in the container may reach, and the file in it. */
  secretDir: string;
  sentinel: string;
  sentinelMtime: number;
}

const copying = suite<Context>('cp between the host and a running container');

copying.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('cp'));
  context.secretDir = path.join(context.sandbox.work, 'secret');
  context.sentinel = path.join(context.secretDir, 'sentinel');
  await mkdir(context.secretDir);
  await writeFile(context.sentinel, 'host');
  context.sentinelMtime = (await stat(context.sentinel)).mtimeMs;
  await writeFile(context.file, `
volumes:
  data: {}
pods:
  web:
    containers:
      app:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "exec sleep 3600"]
        volumes: ["data:/vol"]
  mapped:
    containers:
      app:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "echo made > /tmp/made && chown 7:8 /tmp/made && exec sleep 3600"]
        userns: auto
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
  // The hostile links, pointing at the host's sentinel and its directory by their host paths.
  const planted = await inside(context.sandbox, context.project, 'web.app', [
    `ln -s ${context.sentinel} /absolute`,
    `ln -s ../../../../../../../..${context.secretDir} /up`,
    `mkdir -p /mid && ln -s ${context.secretDir} /mid/dirlink`,
  ].join(' && '));
  assert.is(planted.exitCode, 0, `planting links: ${planted.stderr}`);
}));

copying.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const cp = (context: Context, ...args: string[]) => corral(context.sandbox, ['-p', context.project, 'cp', ...args]);
const inApp = (context: Context, script: string) => inside(context.sandbox, context.project, 'web.app', script);

/** The sentinel as it was, and nothing new beside it. */
async function assertHostUntouched(context: Context, what: string): Promise<void> {
  assert.is(await readFile(context.sentinel, 'utf8'), 'host', `${what}: the host's sentinel is unchanged`);
  assert.is((await stat(context.sentinel)).mtimeMs, context.sentinelMtime, `${what}: the host's sentinel was not written`);
  assert.equal(await readdir(context.secretDir), ['sentinel'], `${what}: nothing was made beside the sentinel`);
}

copying('a file in and out keeps its mode; owners are root\'s without -a, kept with -a', async (context) => {
  assertSetUp(context);
  const file = path.join(context.sandbox.work, 'tool');
  await writeFile(file, 'tool\n');
  await chown(file, 1234, 5678);
  await chmod(file, 0o2751);
  assert.is((await cp(context, file, 'web:/tmp/')).exitCode, 0, 'into a directory');
  assert.is((await cp(context, '-a', file, 'web/app:/tmp/kept')).exitCode, 0, 'to a new name, -a');
  const listed = await inApp(context, 'stat -c "%a %u %g" /tmp/tool /tmp/kept && cat /tmp/kept');
  assert.is(listed.stdout, '2751 0 0\n2751 1234 5678\ntool', 'modes always, owners with -a only');
  assert.is((await inApp(context, 'echo made > /tmp/made && chown 4321:8765 /tmp/made && chmod 4750 /tmp/made')).exitCode, 0);
  const out = path.join(context.sandbox.work, 'out');
  await mkdir(out);
  assert.is((await cp(context, 'web:/tmp/made', out)).exitCode, 0);
  assert.is((await cp(context, '-a', 'web:/tmp/made', `${out}/made-a`)).exitCode, 0);
  const [plain, kept] = await Promise.all([stat(`${out}/made`), stat(`${out}/made-a`)]);
  assert.equal([plain.mode & 0o7777, plain.uid, plain.gid], [0o4750, 0, 0], 'out: mode kept, owned by the caller');
  assert.equal([kept.mode & 0o7777, kept.uid, kept.gid], [0o4750, 4321, 8765], 'out with -a: owners kept');
  assert.is(await readFile(`${out}/made`, 'utf8'), 'made\n');
});

copying('a user-namespaced container: owners are its own ids, mapped to its range on the host', async (context) => {
  assertSetUp(context);
  const listed = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  const pid = (JSON.parse(listed.stdout) as { pod: string; pid: number }[]).find((one) => one.pod === 'mapped')?.pid;
  assert.ok(pid, listed.stdout);
  const rootOfRange = (await stat(`/proc/${pid}/root/`)).uid;
  assert.ok(rootOfRange >= 2 ** 30, `container root is a high host id: ${rootOfRange}`);
  const file = path.join(context.sandbox.work, 'owned');
  await writeFile(file, 'owned');
  await chown(file, 1234, 5678);
  assert.is((await cp(context, file, 'mapped:/tmp/plain')).exitCode, 0);
  assert.is((await cp(context, '-a', file, 'mapped:/tmp/kept')).exitCode, 0);
  const [plain, kept] = await Promise.all([stat(`/proc/${pid}/root/tmp/plain`), stat(`/proc/${pid}/root/tmp/kept`)]);
  assert.equal([plain.uid, plain.gid], [rootOfRange, rootOfRange], 'without -a: the container\'s root');
  assert.equal([kept.uid, kept.gid], [rootOfRange + 1234, rootOfRange + 5678], 'with -a: its ids 1234:5678, as the host stores them');
  const out = path.join(context.sandbox.work, 'made-mapped');
  assert.is((await cp(context, '-a', 'mapped:/tmp/made', out)).exitCode, 0);
  const made = await stat(out);
  assert.equal([made.uid, made.gid], [7, 8], 'out with -a: the ids the container gave it');
});

copying('a directory goes recursively both ways, its symlinks as symlinks; into a volume it lands in the volume', async (context) => {
  assertSetUp(context);
  const tree = path.join(context.sandbox.work, 'tree');
  await mkdir(path.join(tree, 'sub'), { recursive: true });
  await writeFile(path.join(tree, 'sub', 'leaf'), 'leaf');
  await symlink('sub/leaf', path.join(tree, 'link'));
  assert.is((await cp(context, tree, 'web:/vol')).exitCode, 0);
  const volume = path.join(context.sandbox.state, 'projects', context.project, 'volumes', 'data', '_data');
  assert.is(await readFile(path.join(volume, 'tree', 'sub', 'leaf'), 'utf8'), 'leaf', 'the volume mounted at /vol got it');
  assert.is(await readlink(path.join(volume, 'tree', 'link')), 'sub/leaf');
  const back = path.join(context.sandbox.work, 'back');
  assert.is((await cp(context, 'web:/vol/tree', back)).exitCode, 0, 'to a missing path: made with that name');
  assert.is(await readFile(path.join(back, 'sub', 'leaf'), 'utf8'), 'leaf');
  assert.is(await readlink(path.join(back, 'link')), 'sub/leaf');
  const contents = path.join(context.sandbox.work, 'contents');
  await mkdir(contents);
  assert.is((await cp(context, 'web:/vol/tree/.', contents)).exitCode, 0);
  assert.equal((await readdir(contents)).sort(), ['link', 'sub'], 'dir/. copies what is in it');
});

copying('- is a tar stream: out on stdout, in from stdin', async (context) => {
  assertSetUp(context);
  const out = await execa(process.execPath, [cliEntry, '-p', context.project, 'cp', 'web:/vol/tree', '-'], { env: context.sandbox.env, encoding: 'buffer', reject: false });
  assert.is(out.exitCode, 0, String(out.stderr));
  const listed = await execa('tar', ['-tv'], { input: out.stdout });
  assert.match(listed.stdout, /tree\/sub\/leaf/);
  assert.match(listed.stdout, /tree\/link -> sub\/leaf/);
  const archive = await execa('tar', ['-c', '-C', path.join(context.sandbox.work, 'tree'), '.'], { encoding: 'buffer' });
  const into = await execa(process.execPath, [cliEntry, '-p', context.project, 'cp', '-', 'web:/tmp'], { env: context.sandbox.env, input: archive.stdout, reject: false });
  assert.is(into.exitCode, 0, into.stderr);
  assert.is((await inApp(context, 'cat /tmp/sub/leaf && echo && readlink /tmp/link')).stdout, 'leaf\nsub/leaf');
});

copying('hostile symlinks resolve in the container\'s root: reads get the container\'s file or a clear error, writes land inside', async (context) => {
  assertSetUp(context);
  const out = path.join(context.sandbox.work, 'hostile');
  await mkdir(out);
  const missing = await cp(context, '-L', 'web:/absolute', `${out}/a`);
  assert.is(missing.exitCode, 1, 'the absolute link leads nowhere in the container');
  assert.match(missing.stderr, 'web/app:/absolute: no such file or directory');
  assert.is((await cp(context, 'web:/mid/dirlink/sentinel', `${out}/b`)).exitCode, 1, 'nor does a link in a middle component');
  // The container's own file at the sentinel's path: what every link reaches now.
  assert.is((await inApp(context, `mkdir -p ${context.secretDir} && echo container > ${context.sentinel}`)).exitCode, 0);
  for (const [source, name] of [['/absolute', 'c'], ['/mid/dirlink/sentinel', 'd'], ['/up/sentinel', 'e']] as const) {
    const read = await cp(context, '-L', `web:${source}`, `${out}/${name}`);
    assert.is(read.exitCode, 0, `${source}: ${read.stderr}`);
    assert.is(await readFile(`${out}/${name}`, 'utf8'), 'container\n', `${source} reads the container's file`);
  }
  assert.is((await inApp(context, 'ln -s /proc/1/root/etc/hostname /magic')).exitCode, 0);
  const magic = await cp(context, '-L', 'web:/magic', `${out}/magic`);
  assert.is(magic.exitCode, 2, 'a link through /proc/PID/root is refused');
  assert.match(magic.stderr, 'web/app:/magic: copy failed: openat2 /magic: Too many levels of symbolic links');
  const mid = await cp(context, 'web:/mid', `${out}/mid`);
  assert.is(mid.exitCode, 0, mid.stderr);
  assert.ok((await lstat(`${out}/mid/dirlink`)).isSymbolicLink(), 'a link in a copied tree is copied as a link, not followed');
  const payload = path.join(context.sandbox.work, 'payload');
  await writeFile(payload, 'payload');
  for (const destination of ['/absolute', '/mid/dirlink/sentinel', '/up/', '/mid/dirlink/']) {
    const written = await cp(context, payload, `web:${destination}`);
    assert.is(written.exitCode, 0, `${destination}: ${written.stderr}`);
    await assertHostUntouched(context, `writing to ${destination}`);
  }
  assert.is((await inApp(context, `cat ${context.sentinel} ${context.secretDir}/payload`)).stdout, 'payloadpayload', 'the writes landed in the container');
  await assertHostUntouched(context, 'the hostile links');
});

/** A tar archive of the given entries, made by cp's own writer. */
async function archiveOf(entries: readonly CopyEntry[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await writeTar((async function* () { yield* entries; })(), out);
  return Buffer.concat(chunks);
}

copying('a tar stream that names a link, then a path below it, or climbs out with "..", writes nothing outside its directory', async (context) => {
  assertSetUp(context);
  const common = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(), size: 0 };
  const payload = Buffer.from('pwned');
  const cpIn = (archive: Buffer, destination: string) => execa(process.execPath, [cliEntry, '-p', context.project, 'cp', '-', destination], { env: context.sandbox.env, input: archive, reject: false });
  assert.is((await inApp(context, 'mkdir -p /tmp/untar')).exitCode, 0);
  const throughLink = await cpIn(await archiveOf([
    { ...common, path: 'evil', kind: 'symlink', linkTarget: context.secretDir },
    { ...common, path: 'evil/pwned', kind: 'file', size: payload.length, content: () => Readable.from([payload]) },
  ]), 'web:/tmp/untar');
  assert.is.not(throughLink.exitCode, 0, 'the path below the link does not exist inside the destination');
  assert.match(throughLink.stderr, 'web/app:/tmp/untar/evil/pwned');
  const climbing = await cpIn(await archiveOf([{ ...common, path: '../../climbed', kind: 'file', size: payload.length, content: () => Readable.from([payload]) }]), 'web:/tmp/untar');
  assert.is(climbing.exitCode, 2);
  assert.match(climbing.stderr, 'leaves the destination directory');
  assert.is((await inApp(context, `ls ${context.secretDir}; ls /climbed /tmp/climbed 2>&1`)).stdout.includes('pwned'), false, 'nothing landed in the container\'s copy of the secret dir');
  await assertHostUntouched(context, 'the hostile tar stream');
});

copying('a symlink swapped for a directory while cp runs never leads outside the root', async (context) => {
  assertSetUp(context);
  const swaps = 5000;
  // /race/d flips between a directory with a file and a link to the host's secret dir (by its host
  // path), until the copies are done (/race/stop) or it has swapped `swaps` times.
  const swapper = inside(context.sandbox, context.project, 'web.app', [
    'mkdir -p /race/d && echo inside > /race/d/f && i=0',
    `while [ $i -lt ${swaps} ] && [ ! -e /race/stop ]; do mv /race/d /race/real && ln -s ${context.secretDir} /race/d && rm /race/d && mv /race/real /race/d; i=$((i+1)); done`,
    'echo $i',
  ].join('; '), 60_000);
  const payload = path.join(context.sandbox.work, 'race-payload');
  await writeFile(payload, 'race');
  const deadline = Date.now() + 20_000;
  let rounds = 0;
  for (; rounds < 15 && Date.now() < deadline; rounds++) {
    const out = path.join(context.sandbox.work, `race-${rounds}`);
    await cp(context, 'web:/race/d', out);
    await cp(context, '-L', 'web:/race/d/f', `${out}-f`);
    await cp(context, payload, 'web:/race/d/f');
    await cp(context, payload, 'web:/race/d/');
    // Whatever each copy got (the directory, the link as a link, or an error mid-swap), nothing is the host's.
    const got = await lstat(out).catch(() => undefined);
    if (got?.isDirectory()) assert.ok((await readdir(out)).every((name) => name === 'f' || name === 'race-payload'), `${out} holds the container's files only`);
    const text = await readFile(`${out}-f`, 'utf8').catch(() => undefined);
    assert.ok(text === undefined || text === 'inside\n' || text === 'race', `${out}-f holds the container's data, not the host's: ${JSON.stringify(text)}`);
    await assertHostUntouched(context, `round ${rounds}`);
  }
  assert.is((await inApp(context, 'touch /race/stop')).exitCode, 0);
  const swapped = await swapper;
  assert.ok(rounds > 0, 'cp ran while the links were swapped');
  assert.is(swapped.exitCode, 0, `the swapping loop ran to its end: ${swapped.stderr}`);
  assert.ok(Number(swapped.stdout) > rounds, `it swapped while cp ran (${swapped.stdout} swaps, ${rounds} rounds)`);
  await assertHostUntouched(context, 'the swapped links');
});

copying('a stopped container is copied from and to through its root file system', async (context) => {
  assertSetUp(context);
  assert.is((await inApp(context, 'echo before-stop > /tmp/kept-file')).exitCode, 0);
  assert.is((await corral(context.sandbox, ['-p', context.project, 'stop', 'web'])).exitCode, 0);
  const out = path.join(context.sandbox.work, 'stopped-out');
  const read = await cp(context, 'web:/tmp/kept-file', out);
  assert.is(read.exitCode, 0, read.stderr);
  assert.is(await readFile(out, 'utf8'), 'before-stop\n');
  assert.is((await cp(context, out, 'web:/tmp/copied-while-stopped')).exitCode, 0);
  assert.is((await corral(context.sandbox, ['-p', context.project, 'start', 'web'])).exitCode, 0);
  assert.is((await inApp(context, 'cat /tmp/copied-while-stopped')).stdout, 'before-stop', 'the copy is there once it runs again');
});

copying.run();
