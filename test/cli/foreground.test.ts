import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, createSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// `corral up` without -d: stays in the foreground streaming the containers' output, prefixed with
// who said it, and takes the project down when it is told to stop.

const foreground = suite<{ sandbox: Sandbox; project: string }>('up in the foreground');

foreground.before(async (context) => {
  context.sandbox = await createSandbox('fg');
  context.project = context.sandbox.projectName('fg');
});

foreground.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

foreground('streams prefixed output, and SIGTERM takes the project down', async (context) => {
  const file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(file, [
    'pods:', '  talk:', '    containers:',
    '      a: { rootfs: "${CORRAL_ROOTFS}", command: [sh, -c, "trap \'exit 0\' TERM; while true; do echo tick-a; sleep 1 & wait $$!; done"] }',
    '      b: { rootfs: "${CORRAL_ROOTFS}", command: [sh, -c, "trap \'exit 0\' TERM; while true; do echo tick-b; sleep 1 & wait $$!; done"] }',
    '',
  ].join('\n'));
  const child = execa(process.execPath, [cliEntry, '-f', file, '-p', context.project, 'up'], { env: context.sandbox.env, reject: false, timeout: 60_000 });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  await eventually(async () => (output.includes('talk/a | tick-a') && output.includes('talk/b | tick-b') ? true : undefined), 'both containers\' prefixed output');
  child.kill('SIGTERM');
  const result = await child;
  assert.is(result.exitCode, 0, `up exits cleanly: ${result.stderr}`);
  assert.match(output, /✔ talk\/a\s+removed/, 'it took the containers down');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project)), 'nothing of the project is left in the run dir');
});

foreground.run();
