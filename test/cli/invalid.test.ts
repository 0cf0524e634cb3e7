import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createSandbox, type Sandbox } from '../helpers/sandbox.js';

// Bad input gets one clear error with file, line and column, exit code 1, and changes nothing.

const invalid = suite<{ sandbox: Sandbox }>('invalid project files');

invalid.before(async (context) => {
  context.sandbox = await createSandbox('invalid');
});

invalid.after(async (context) => {
  await context.sandbox.dispose();
});

const cases = [
  {
    name: 'a wrong key',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        commandd: ["true"]', ''],
    position: ':6:9:',
    says: /unknown key "commandd"/,
  },
  {
    name: 'a wrong type',
    yaml: ['pods:', '  web:', '    shm_size: [1]', '    containers:', '      app:', '        rootfs: /x', ''],
    position: ':3:15:',
    says: /shm_size/,
  },
  {
    name: 'a YAML syntax error',
    yaml: ['pods:', '  web:', '    containers:', '      app: [unclosed', '        rootfs: /x', ''],
    position: ':4:13:',
    says: /YAML syntax/,
  },
];

for (const example of cases) {
  invalid(`${example.name} gives one error with line and column, exit code 1, and creates nothing`, async (context) => {
    const file = path.join(context.sandbox.work, 'corral.yaml');
    await writeFile(file, example.yaml.join('\n'));
    for (const command of [['validate'], ['up', '-d']]) {
      const result = await corral(context.sandbox, ['-f', file, ...command]);
      assert.is(result.exitCode, 1, `${command[0]}: exit code 1 for invalid input (stderr: ${result.stderr})`);
      const lines = result.stderr.trim().split('\n');
      assert.is(lines.length, 1, `${command[0]}: exactly one error line: ${result.stderr}`);
      assert.ok(lines[0]!.startsWith(`corral: ${file}${example.position}`), `${command[0]}: names file, line and column: ${lines[0]}`);
      assert.match(lines[0]!, /:\d+:\d+: /, `${command[0]}: has line:col`);
      assert.match(lines[0]!, example.says, `${command[0]}: says what is wrong`);
      assert.match(lines[0]!, /\(.+\)$/, `${command[0]}: says how to fix it`);
    }
    assert.equal(await readdir(context.sandbox.run), [], 'nothing was created in the run dir');
    assert.equal(await readdir(context.sandbox.state), [], 'nothing was created in the state dir');
  });
}

invalid.run();
