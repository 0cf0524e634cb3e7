import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { listWithRuntime, type RuncState } from '../../src/runtime/runc.js';
import { readRuncStateFiles } from '../../src/runtime/runc-state-files.js';
import { findLeaks } from '../helpers/leaks.js';
import { testRootfs } from '../helpers/sandbox.js';
import * as native from '../../src/native.js';

// Corral reads runc's state files instead of starting `runc list`; the answer must be runc's own.
// Real containers under a runc root of the test's own, in each state runc knows: created (never
// started), running, and stopped (its process exited).

interface Context { dir: string; root: string }

const states = suite<Context>('runc state read from its files, as runc list says');
// Under corral/ like a project's cgroups, so the leak checker looks at it as at one.
const cgroupProject = `test-runc-state-${process.pid}`;

async function makeBundle(context: Context, id: string, args: string[]): Promise<string> {
  const bundle = path.join(context.dir, id);
  await execa('mkdir', ['-p', bundle]);
  await execa('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
  spec.root = { path: await testRootfs(), readonly: true };
  spec.process.terminal = false;
  spec.process.args = args;
  spec.linux.cgroupsPath = `/corral/${cgroupProject}/${id}`;
  spec.annotations = { 'corral.hash': `hash-of-${id}`, 'corral.pod': 'p' };
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

const runc = (context: Context, args: string[]) => execa('runc', ['--root', context.root, ...args], { stdio: 'ignore', timeout: 20_000 });

states.before(async (context) => {
  context.dir = await mkdtemp('/run/corral-test-runc-state-');
  context.root = path.join(context.dir, 'root');
  await runc(context, ['create', '--bundle', await makeBundle(context, 'created', ['sleep', '60']), 'created']);
  await runc(context, ['run', '--detach', '--bundle', await makeBundle(context, 'running', ['sleep', '60']), 'running']);
  await runc(context, ['run', '--detach', '--bundle', await makeBundle(context, 'stopped', ['true']), 'stopped']);
});

states.after(async (context) => {
  for (const id of ['created', 'running', 'stopped']) await execa('runc', ['--root', context.root, 'delete', '--force', id], { reject: false });
  await native.removeCgroup(`corral/${cgroupProject}`);
  await rm(context.dir, { recursive: true, force: true });
  assert.equal(await findLeaks({ dirs: [context.dir], projects: [cgroupProject], runcRoots: [context.root] }), []);
});

const comparable = (list: RuncState[]) => list.map(({ id, pid, status, bundle, created, annotations }) => ({ id, pid, status, bundle, created, annotations }));

states('created, running and stopped containers read as runc list reports them', async (context) => {
  // `runc run --detach` of `true` returns before the process is gone; wait (bounded) until runc says so.
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await listWithRuntime({ binary: 'runc', root: context.root })).find((state) => state.id === 'stopped')?.status === 'stopped') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const fromRunc = await listWithRuntime({ binary: 'runc', root: context.root });
  const fromFiles = readRuncStateFiles(context.root);
  assert.ok(fromFiles, 'runc 1.1 state files are understood');
  assert.equal(fromRunc.map((state) => `${state.id} ${state.status}`), ['created created', 'running running', 'stopped stopped'], 'the three states exist');
  assert.equal(comparable(fromFiles!), comparable(fromRunc));
  assert.is(fromFiles!.find((state) => state.id === 'running')!.annotations!['corral.hash'], 'hash-of-running');
});

states('a root that does not exist holds no container; a state file of another format is left to runc list', async (context) => {
  assert.equal(readRuncStateFiles(path.join(context.dir, 'no-such-root')), []);
  const odd = path.join(context.dir, 'odd-root');
  await execa('mkdir', ['-p', path.join(odd, 'x')]);
  await writeFile(path.join(odd, 'x', 'state.json'), JSON.stringify({ id: 'x', status: 'running', pid: 1 }));
  assert.is(readRuncStateFiles(odd), undefined);
  await writeFile(path.join(odd, 'x', 'state.json'), '{ half');
  assert.is(readRuncStateFiles(odd), undefined);
});

states('a state file reads the same with a seccomp profile, and with its config keys in another order', async (context) => {
  const expected = readRuncStateFiles(context.root)!.find((state) => state.id === 'running');
  const original = JSON.parse(await readFile(path.join(context.root, 'running', 'state.json'), 'utf8'));
  // A profile as Corral's containers carry one: the part of the file that is cut out before parsing.
  const profile = { default_action: 2, syscalls: Array.from({ length: 300 }, (_, index) => ({ name: `call_${index}`, action: 4, args: null })) };
  const { seccomp: _seccomp, ...rest } = original.config;
  const inOrder = { ...original, config: Object.fromEntries(Object.entries(original.config).map(([key, value]) => [key, key === 'seccomp' ? profile : value])) };
  const reordered = { ...original, config: { ...rest, seccomp: profile } };
  for (const [name, state] of [['in runc\'s order', inOrder], ['seccomp after no_new_privileges', reordered]] as const) {
    const root = path.join(context.dir, `root-${name.replace(/\W+/g, '-')}`);
    await execa('mkdir', ['-p', path.join(root, 'running')]);
    await writeFile(path.join(root, 'running', 'state.json'), JSON.stringify(state));
    assert.equal(readRuncStateFiles(root), [expected], name);
  }
});

states.run();
