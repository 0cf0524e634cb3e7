import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, freePort, inside, type Sandbox } from '../helpers/sandbox.js';
import { psRows } from './observe.js';
import { rebootProject } from './reboot.js';

// The runtime dir wiped as by a reboot, while the state dir stays: one `up` must bring the project
// back as it was (the server answering, a named volume's data still there), one `down` leave nothing.

const faults = suite<{ sandbox: Sandbox; project: string; file: string; port: number }>('faults: runtime dir wiped as by a reboot');

faults.before(async (context) => {
  Object.assign(context, await createProjectSandbox('reboot'));
  context.port = await freePort();
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(context.file, `
volumes:
  site:
pods:
  web:
    ports: ["127.0.0.1:${context.port}:8080"]
    containers:
      server:
        rootfs: ${rootfs}
        command: ["httpd", "-f", "-p", "8080", "-h", "/srv"]
        volumes: ["site:/srv"]
        restart: always
  worker:
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        volumes: ["site:/site"]
        restart: always
`);
});

faults.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

async function page(port: number): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  return response?.ok ? await response.text() : undefined;
}

faults('after a reboot one up brings the project back with its volume, one down leaves nothing', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const marker = `kept-${process.pid}-${Date.now()}`;
  const wrote = await inside(context.sandbox, context.project, 'worker.main', `echo ${marker} > /site/index.html`);
  assert.is(wrote.exitCode, 0, `writing into the volume fails: ${wrote.stderr}`);
  assert.is((await eventually(() => page(context.port), 'the page before the reboot'))?.trim(), marker, 'the server serves the volume');

  const destroyed = await rebootProject(context.sandbox, context.project);
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project)), 'the run dir is gone');
  assert.ok(existsSync(path.join(context.sandbox.state, 'projects', context.project, 'applied.json')), 'the state dir stays');
  assert.is(await page(context.port), undefined, 'nothing answers after the reboot');

  const again = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(again.exitCode, 0, `up after the reboot fails: ${again.stdout}\n${again.stderr}`);
  const rows = await psRows(context.sandbox, context.project);
  assert.equal([...rows.values()].map((row) => `${row.pod}/${row.container} ${row.state}`).sort(), ['web/server running', 'worker/main running'], 'both containers run again');
  assert.is((await eventually(() => page(context.port), 'the page after the reboot'))?.trim(), marker, 'the server answers with the volume data written before the reboot');
  const read = await inside(context.sandbox, context.project, 'worker.main', 'cat /site/index.html');
  assert.is(String(read.stdout).trim(), marker, 'the worker sees the volume data too');

  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `down fails: ${down.stderr}`);
  process.stdout.write(`\n  faults: runtime dir wiped (${destroyed.join('; ')}) -> one up restored 2 containers and the volume data, down left nothing\n`);
});

faults.run();
