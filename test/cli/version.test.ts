import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cgroupVersion } from '../../src/native.js';
import { corral, createSandbox, repositoryRoot, type Sandbox } from '../helpers/sandbox.js';

// `corral version`: what a bug report needs, each figure from where it really comes from.

const version = suite<{ sandbox: Sandbox }>('corral version');

version.before(async (context) => {
  context.sandbox = await createSandbox('version');
});

version.after(async (context) => {
  await context.sandbox.dispose();
});

version('names Corral\'s, Node\'s, runc\'s and conmon\'s versions, the kernel and the cgroup hierarchy', async (context) => {
  const result = await corral(context.sandbox, ['version', '--format', 'json']);
  assert.is(result.exitCode, 0, result.stderr);
  const facts = JSON.parse(result.stdout) as Record<string, string>;
  const { version: packageVersion } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as { version: string };
  assert.is(facts.corral, packageVersion);
  assert.is(facts.node, process.versions.node);
  assert.match(facts.runtime!, /^runc: runc version \d/);
  assert.match(facts.conmon!, /^conmon version \d/);
  assert.is(facts.cgroups, `v${cgroupVersion()}`);
  const table = await corral(context.sandbox, ['version']);
  assert.match(table.stdout, new RegExp(`^corral\\s+${packageVersion.replace(/\./g, '\\.')}$`, 'm'));
});

version.run();
