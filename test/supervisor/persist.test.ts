import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { persistSnapshots } from '../../src/supervisor/persist.js';
import { type ContainerSnapshot, readMachineSnapshots } from '../../src/state/snapshots.js';

// machines.json as the supervisor writes it: a burst of changes is one write, read back as written;
// closing writes what waits; nothing is written once the project is gone; a failed write is told.

const persist = suite<{ dir: string; applied: string; machines: string }>('supervisor: persisting the machines');

persist.before.each(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-test-persist-');
  context.applied = path.join(context.dir, 'applied.json');
  context.machines = path.join(context.dir, 'machines.json');
  await writeFile(context.applied, '{}');
});

persist.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

const running = (restartCount: number): ContainerSnapshot => ({ state: 'running', restartCount, backoffMs: 0, health: 'healthy', healthPid: 42 });

persist('a burst of changes is one write, read back as the machines were at the write', async (context) => {
  let containers: Record<string, ContainerSnapshot> = {};
  let reads = 0;
  const lines: string[] = [];
  const persister = persistSnapshots({ paths: context, snapshots: () => (reads++, containers), onLine: (line) => lines.push(line), quietMs: 30 });
  for (let restart = 0; restart < 5; restart++) {
    containers = { 'web/app': running(restart), 'web/side': { state: 'backoff', restartCount: 2, backoffMs: 20_000, error: 'exited with 1' } };
    persister.changed();
    await sleep(2);
  }
  await sleep(100);
  assert.is(reads, 1, 'one write for the burst');
  const written = await readMachineSnapshots(context.machines);
  assert.is(written?.pid, process.pid, 'names the supervisor that wrote it');
  assert.ok(Date.now() - Date.parse(written?.writtenAt ?? '') < 5_000, `says when: ${written?.writtenAt}`);
  assert.equal(written?.containers, containers, 'the last state of every machine, as it was');
  assert.equal(lines, [], 'nothing to tell');
  await persister.close();
});

persist('close writes what waits for its quiet time at once', async (context) => {
  const persister = persistSnapshots({ paths: context, snapshots: () => ({ 'web/app': running(3) }), onLine: () => {}, quietMs: 60_000 });
  persister.changed();
  await persister.close();
  assert.equal((await readMachineSnapshots(context.machines))?.containers, { 'web/app': running(3) }, 'written on close');
  persister.changed();
  await sleep(20);
  assert.equal((await readMachineSnapshots(context.machines))?.containers['web/app']?.restartCount, 3, 'nothing after close');
});

persist('nothing is written once the project is no longer applied', async (context) => {
  await rm(context.applied);
  const persister = persistSnapshots({ paths: context, snapshots: () => ({ 'web/app': running(0) }), onLine: () => {}, quietMs: 5 });
  persister.changed();
  await sleep(50);
  await persister.close();
  const there = await stat(context.machines).then(() => true, (error: NodeJS.ErrnoException) => error.code !== 'ENOENT');
  assert.is(there, false, 'no machines.json of a project that down removed');
});

persist('a write that fails is told with its file and errno, and the supervisor goes on', async (context) => {
  // A directory where machines.json should be: the new file cannot be renamed over it (EISDIR).
  const machines = path.join(context.dir, 'machines.json');
  await mkdir(machines);
  const lines: string[] = [];
  const persister = persistSnapshots({ paths: { applied: context.applied, machines }, snapshots: () => ({}), onLine: (line) => lines.push(line), quietMs: 5 });
  persister.changed();
  await sleep(50);
  assert.is(lines.length, 1, `one line: ${lines.join(' | ')}`);
  assert.match(lines[0]!, `cannot write ${machines}`, 'names the file');
  assert.match(lines[0]!, '(EISDIR)', 'names the errno');
  assert.match(lines[0]!, `check the file system of ${context.dir}`, 'says what to do');
  persister.changed();
  await sleep(50);
  assert.is(lines.length, 2, 'the next change tries again');
  assert.equal((await readdir(context.dir)).sort(), ['applied.json', 'machines.json'], 'no temporary is left');
  await persister.close();
});

persist.run();
