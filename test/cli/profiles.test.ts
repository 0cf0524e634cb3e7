import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, corral, createSandbox, type Sandbox } from '../helpers/sandbox.js';

// profiles from the command line: --profile (repeatable, or comma-separated) and CORRAL_PROFILES;
// validate says how many pods and containers the active profiles make.

const profiles = suite<{ sandbox: Sandbox; file: string }>('profiles on the command line');

profiles.before(async (context) => {
  context.sandbox = await createSandbox('profiles');
  context.file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(context.file, [
    'pods:', '  web:', '    containers:', '      app: { rootfs: /x, command: ["true"] }', '      debug: { rootfs: /x, command: ["true"], profiles: [debug] }',
    '  tools:', '    profiles: [tools]', '    containers:', '      shell: { rootfs: /x, command: ["true"] }', '',
  ].join('\n'));
});

profiles.after((context) => context.sandbox.dispose());

const counts = (stdout: string) => /(\d+) pod\(s\), (\d+) container\(s\)/.exec(stdout)?.slice(1).join('/');

profiles('no profile, --profile, several, and CORRAL_PROFILES', async (context) => {
  assert.is(counts((await corral(context.sandbox, ['-f', context.file, 'validate'])).stdout), '1/1', 'only what has no profile');
  assert.is(counts((await corral(context.sandbox, ['-f', context.file, 'validate', '--profile', 'debug'])).stdout), '1/2', '--profile debug');
  assert.is(counts((await corral(context.sandbox, ['-f', context.file, 'validate', '--profile', 'debug', '--profile', 'tools'])).stdout), '2/3', 'two profiles');
  assert.is(counts((await corral(context.sandbox, ['-f', context.file, 'validate', '--profile', 'debug,tools'])).stdout), '2/3', 'comma-separated');
  const fromEnvironment = await execa(process.execPath, [cliEntry, '-f', context.file, 'validate'], { env: { ...context.sandbox.env, CORRAL_PROFILES: 'tools' }, reject: false });
  assert.is(counts(String(fromEnvironment.stdout)), '2/2', 'CORRAL_PROFILES=tools');
});

profiles.run();
