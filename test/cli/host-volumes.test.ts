import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, inside, type Sandbox } from '../helpers/sandbox.js';
import type { VolumeRow } from '../../src/cli/volume.js';

// Host volumes as compose users know them (compose's `name:` and `external: true`), on real
// containers of two projects that share them: one made by `corral volume create`, one made by a
// project's `up` for a `name:`. Data written by one project is read by the other; an external
// volume that the host does not have is refused at its line with nothing made; a volume in use is
// never removed, by `volume rm` or by `down -v`; `down -v` removes what its project made once
// nobody uses it, and never an external one.

interface Context { sandbox: Sandbox; writer: string; reader: string; missing: string; image: string }
const host = suite<Context>('host volumes: name: and external: true, shared by projects');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

host.before(async (context) => {
  context.sandbox = await createSandbox('hostvol');
  context.writer = context.sandbox.projectName('writer');
  context.reader = context.sandbox.projectName('reader');
  context.missing = context.sandbox.projectName('missing');
  const image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sleep', '1000'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  context.image = `oci:${image.layout}:${image.tag}`;
});

host.after((context) => downAndAssertNothingLeaks(context.sandbox, context.writer, context.reader, context.missing));

/** A compose project in a directory of its own, as users keep them. */
async function composeProject(context: Context, project: string, text: string): Promise<string> {
  const dir = path.join(context.sandbox.work, project);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'compose.yaml'), `name: ${project}\n${text}`);
  return dir;
}

const volumes = async (context: Context) => {
  const result = await corral(context.sandbox, ['volume', 'ls', '--format', 'json']);
  assert.is(result.exitCode, 0, `volume ls: ${result.stderr}`);
  return (JSON.parse(result.stdout) as VolumeRow[]).filter((row) => row.project === null);
};

host('volume create makes a host volume; two projects share it and a name: volume, each reading what the other wrote', async (context) => {
  const create = await corral(context.sandbox, ['volume', 'create', 'shared']);
  assert.is(create.exitCode, 0, create.stderr);
  assert.equal((await volumes(context)).map((row) => [row.name, row.usedBy, row.createdBy]), [['shared', [], undefined]], 'a host volume, made by nobody\'s up');

  const writerDir = await composeProject(context, context.writer, `services:
  app:
    image: "${context.image}"
    command: ["sh", "-c", "echo from-writer > /shared/note; echo named > /named/note; ${LOOP}"]
    volumes: ["shared:/shared", "mine:/named"]
volumes:
  shared: { external: true }
  mine: { name: writer-named }
`);
  const up = await corral(context.sandbox, ['up', '-d', '--wait'], { cwd: writerDir });
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  assert.not.match(up.stderr, /external|name/, 'carried, not warned about');
  const made = (await volumes(context)).find((row) => row.name === 'writer-named');
  assert.is(made?.createdBy, context.writer, 'up made the name: volume, on the host, recorded as the writer\'s');
  assert.is(made?.mountpoint, path.join(context.sandbox.state, 'volumes', 'writer-named', '_data'));
  assert.is(await readdir(path.join(context.sandbox.state, 'projects', context.writer, 'volumes')).catch(() => []).then((names) => names.length), 0, 'no project volume was made for either');

  // The other project names both the old compose way and the new: external: { name: } and name: + external.
  const readerDir = await composeProject(context, context.reader, `services:
  app:
    image: "${context.image}"
    command: ["sh", "-c", "${LOOP}"]
    volumes: ["theirs:/theirs", "named:/named"]
volumes:
  theirs:
    external:
      name: shared
  named:
    name: writer-named
    external: true
`);
  const readerUp = await corral(context.sandbox, ['up', '-d', '--wait'], { cwd: readerDir });
  assert.is(readerUp.exitCode, 0, `reader up: ${readerUp.stdout}\n${readerUp.stderr}`);
  const read = await inside(context.sandbox, context.reader, 'app.app', 'cat /theirs/note /named/note; echo from-reader > /theirs/back');
  assert.is(read.stdout, 'from-writer\nnamed', `the reader sees the writer's files: ${read.stderr}`);
  assert.is((await inside(context.sandbox, context.writer, 'app.app', 'cat /shared/back')).stdout, 'from-reader', 'and the writer sees the reader\'s');
  const shared = (await volumes(context)).find((row) => row.name === 'shared');
  assert.equal(shared?.usedBy, [`${context.reader}: app/app`, `${context.writer}: app/app`], 'ls names both projects\' containers');
});

host('an external volume the host does not have is refused at its line, before anything is made', async (context) => {
  const dir = await composeProject(context, context.missing, `services:
  app:
    image: "${context.image}"
    volumes: ["gone:/data"]
volumes:
  gone:
    external: true
`);
  const up = await corral(context.sandbox, ['up', '-d'], { cwd: dir });
  assert.is(up.exitCode, 1, `refused: ${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, `${path.join(dir, 'compose.yaml')}:7:3`, 'at the volume\'s definition');
  assert.match(up.stderr, /volume gone is external, and this host has no volume gone/);
  assert.match(up.stderr, /corral volume create gone/, 'with how to make it');
  assert.is(await stat(path.join(context.sandbox.state, 'volumes', 'gone')).then(() => true, () => false), false, 'no empty volume was made in its place');
  const ps = await corral(context.sandbox, ['ps', '--format', 'json'], { cwd: dir });
  assert.equal(JSON.parse(ps.stdout || '[]'), [], 'no container was made');
});

host('a volume in use is never removed: volume rm refuses it, down -v keeps it and says why', async (context) => {
  const rm = await corral(context.sandbox, ['volume', 'rm', 'shared', 'writer-named']);
  assert.is(rm.exitCode, 1, 'refused while in use');
  assert.match(rm.stderr, /nothing removed: shared is used by/);
  assert.equal((await volumes(context)).map((row) => row.name), ['shared', 'writer-named'], 'both still there');

  const down = await corral(context.sandbox, ['down', '-v'], { cwd: path.join(context.sandbox.work, context.writer) });
  assert.is(down.exitCode, 0, down.stderr);
  assert.match(down.stdout + down.stderr, `volume writer-named kept: in use by ${context.reader}: app/app`, 'down -v keeps the volume another project uses, and says so');
  const read = await inside(context.sandbox, context.reader, 'app.app', 'cat /named/note');
  assert.is(read.stdout, 'named', 'its data is still there for the reader');
});

host('down -v removes a name: volume its project made once nobody uses it, never an external one; volume rm removes the rest', async (context) => {
  const readerDir = path.join(context.sandbox.work, context.reader);
  assert.is((await corral(context.sandbox, ['down', '-v'], { cwd: readerDir })).exitCode, 0);
  assert.equal((await volumes(context)).map((row) => row.name), ['shared', 'writer-named'], 'the reader made neither: its down -v leaves both');

  const writerDir = path.join(context.sandbox.work, context.writer);
  assert.is((await corral(context.sandbox, ['up', '-d', '--wait'], { cwd: writerDir })).exitCode, 0);
  assert.is((await inside(context.sandbox, context.writer, 'app.app', 'cat /named/note')).stdout, 'named', 'the kept volume is used again, with its data');
  const down = await corral(context.sandbox, ['down', '-v'], { cwd: writerDir });
  assert.is(down.exitCode, 0, down.stderr);
  assert.equal((await volumes(context)).map((row) => row.name), ['shared'], 'the writer\'s down -v removed what it made, and left the external one');

  const rm = await corral(context.sandbox, ['volume', 'rm', 'shared']);
  assert.is(rm.exitCode, 0, rm.stderr);
  assert.equal(await volumes(context), [], 'volume rm removed the last one');
  const again = await corral(context.sandbox, ['volume', 'rm', 'shared']);
  assert.is(again.exitCode, 1, 'a missing one is an error without -f');
  assert.is((await corral(context.sandbox, ['volume', 'rm', '-f', 'shared'])).exitCode, 0, 'and skipped with -f');
});

host.run();
