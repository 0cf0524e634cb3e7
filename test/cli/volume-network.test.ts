import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';
import { assertSetUp, visibleSetup, type SetupState } from '../helpers/visible-setup.js';
import { planProjectVolumeRemoval, type VolumeRow } from '../../src/cli/volume.js';
import { volumeOfSource } from '../../src/state/paths.js';
import type { NetworkRow } from '../../src/cli/network.js';

// `corral volume` and `corral network` on a real project: a named volume mounted by one container,
// and two networks joined by its pods. Volumes are listed with who uses them, refused for removal
// while used (with or without -f), kept by `down` and removable after it; networks are read from
// Corral's records with their subnets and pods.

interface Context extends SetupState { sandbox: Sandbox; project: string; file: string; rootfs: string }
const cli = suite<Context>('corral volume and network: ls, inspect, create, rm');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

cli.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('volume-network', 'volnet'));
  await writeFile(context.file, `
volumes:
  data: {}
networks:
  front: {}
  back: { internal: true }
pods:
  app:
    networks: [front, back]
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "echo marker > /data/marker; ${LOOP}"]
        volumes: ["data:/data"]
  db:
    networks: [back]
    containers:
      server:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "${LOOP}"]
`);
  const up = await corral(context.sandbox, ['-p', context.project, 'up', '-d', '--wait'], { cwd: context.sandbox.work });
  if (up.exitCode !== 0) throw new Error(`up failed: ${up.stderr}`);
}));

const volumes = async (context: Context, ...args: string[]) => {
  const result = await corral(context.sandbox, ['volume', 'ls', '--format', 'json', ...args]);
  assert.is(result.exitCode, 0, `volume ls succeeds: ${result.stderr}`);
  return JSON.parse(result.stdout) as VolumeRow[];
};

cli('volume ls and inspect show the named volume and the container using it', async (context) => {
  assertSetUp(context);
  const [data] = await volumes(context);
  assert.equal({ project: data?.project, name: data?.name, usedBy: data?.usedBy }, { project: context.project, name: 'data', usedBy: ['app/main'] }, 'the project\'s volume, used by app/main');
  assert.is(data!.mountpoint, path.join(context.sandbox.state, 'projects', context.project, 'volumes', 'data', '_data'), 'its _data dir');
  assert.ok(!Number.isNaN(Date.parse(data!.created)), `a creation time: ${data!.created}`);
  const table = await corral(context.sandbox, ['volume', 'ls']);
  assert.match(table.stdout, /PROJECT\s+NAME\s+MOUNTPOINT/, 'a table with a header');
  const inspect = await corral(context.sandbox, ['volume', 'inspect', 'data']);
  assert.is(inspect.exitCode, 0, inspect.stderr);
  assert.equal((JSON.parse(inspect.stdout) as VolumeRow[]).map((row) => row.usedBy), [['app/main']], 'inspect names the user');
  const unknown = await corral(context.sandbox, ['volume', 'inspect', 'nope']);
  assert.is(unknown.exitCode, 1, 'an unknown volume is an error');
  assert.match(unknown.stderr, /no volume nope/);
});

cli('volume rm is refused while a container uses the volume, with or without -f', async (context) => {
  assertSetUp(context);
  for (const args of [['data'], ['-f', 'data']]) {
    const refused = await corral(context.sandbox, ['-p', context.project, 'volume', 'rm', ...args]);
    assert.is(refused.exitCode, 1, `rm ${args.join(' ')} is refused: ${refused.stderr}`);
    assert.match(refused.stderr, /data is used by app\/main/, 'names the container');
  }
  const marker = await readFile(path.join(context.sandbox.state, 'projects', context.project, 'volumes', 'data', '_data', 'marker'), 'utf8');
  assert.is(marker.trim(), 'marker', 'the volume and its data are still there');
});

cli('network ls and inspect show both networks with subnets and pods', async (context) => {
  assertSetUp(context);
  const ls = await corral(context.sandbox, ['network', 'ls', '--format', 'json']);
  assert.is(ls.exitCode, 0, ls.stderr);
  const rows = (JSON.parse(ls.stdout) as NetworkRow[]).filter((row) => row.project === context.project);
  assert.equal(rows.map((row) => [row.name, row.internal, row.pods.map((one) => one.pod)]), [['back', true, ['app', 'db']], ['front', false, ['app']]], 'both networks and their pods');
  for (const row of rows) assert.match(row.subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/, `${row.name} has a subnet`);
  const table = await corral(context.sandbox, ['network', 'ls']);
  assert.match(table.stdout, /PROJECT\s+NAME\s+BRIDGE\s+SUBNET\s+INTERNAL\s+PODS/, 'a table with a header');
  const inspect = await corral(context.sandbox, ['-p', context.project, 'network', 'inspect', 'front']);
  assert.is(inspect.exitCode, 0, inspect.stderr);
  const [front] = JSON.parse(inspect.stdout) as NetworkRow[];
  assert.is(front?.subnet, rows.find((row) => row.name === 'front')?.subnet, 'inspect agrees with ls');
  assert.match(front!.pods[0]!.ip, /^\d+\.\d+\.\d+\.\d+$/, 'the pod\'s address on it');
});

cli('after down the volume is kept, then rm removes it; create makes a new one', async (context) => {
  assertSetUp(context);
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, down.stderr);
  assert.equal((await volumes(context)).map((row) => [row.name, row.usedBy]), [['data', []]], 'down keeps the volume, now unused');
  const rm = await corral(context.sandbox, ['-p', context.project, 'volume', 'rm', 'data']);
  assert.is(rm.exitCode, 0, rm.stderr);
  assert.equal(await volumes(context), [], 'ls no longer lists it');
  const missing = await corral(context.sandbox, ['-p', context.project, 'volume', 'rm', 'data']);
  assert.is(missing.exitCode, 1, 'a missing volume is an error without -f');
  assert.is((await corral(context.sandbox, ['-p', context.project, 'volume', 'rm', '-f', 'data'])).exitCode, 0, 'and skipped with -f');
  const create = await corral(context.sandbox, ['-p', context.project, 'volume', 'create', 'fresh']);
  assert.is(create.exitCode, 0, create.stderr);
  assert.equal((await volumes(context, '-p', context.project)).map((row) => row.name), ['fresh'], 'ls lists the created volume');
  const bad = await corral(context.sandbox, ['-p', context.project, 'volume', 'create', '../escape']);
  assert.is(bad.exitCode, 1, 'a name that leaves the volumes dir is refused');
});

cli.after(async (context) => {
  if (context.sandbox) await downAndAssertNothingLeaks(context.sandbox, context.project);
});

cli.run();

const pure = suite('volume helpers');

pure('a mount source belongs to the volume whose _data holds it', () => {
  assert.is(volumeOfSource('/s/volumes', '/s/volumes/data/_data'), 'data');
  assert.is(volumeOfSource('/s/volumes', '/s/volumes/data/_data/sub/dir'), 'data', 'a subpath');
  assert.is(volumeOfSource('/s/volumes', '/elsewhere/data/_data'), undefined, 'a bind outside');
  assert.is(volumeOfSource('/s/volumes', '/s/volumes/data'), undefined, 'not its data dir');
});

pure('removal: nothing of a refused volume, missing ones apart', () => {
  const row = (name: string, usedBy: string[]): VolumeRow => ({ project: 'p', name, mountpoint: '', created: '', usedBy });
  const plan = planProjectVolumeRemoval(['a', 'b', 'c', 'a'], [row('a', []), row('b', ['web/app'])]);
  assert.equal(plan, { remove: ['a'], missing: ['c'], refused: [{ name: 'b', usedBy: ['web/app'] }] });
});

pure.run();
