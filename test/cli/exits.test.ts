import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// Containers that end by themselves: the exit code conmon recorded is what `ps` shows.

const exits = suite<{ sandbox: Sandbox; project: string; file: string }>('containers that exit');

exits.before(async (context) => {
  Object.assign(context, await createProjectSandbox('exits'));
  await writeFile(context.file, [
    'pods:',
    '  job:',
    '    containers:',
    '      fails:',
    '        rootfs: ${CORRAL_ROOTFS}',
    '        command: ["sh", "-c", "echo about to fail; exit 3"]',
    '      succeeds:',
    '        rootfs: ${CORRAL_ROOTFS}',
    '        command: ["true"]',
    '',
  ].join('\n'));
});

exits.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

exits('a container whose command exits 3 is reported exited with code 3', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}`);
  const rows = await eventually(async () => {
    const ps = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
    const parsed = JSON.parse(ps.stdout) as { container: string; state: string; exitCode: number | null }[];
    return parsed.every((row) => row.state === 'exited') ? parsed : undefined;
  }, 'both containers to exit');
  const byName = Object.fromEntries(rows.map((row) => [row.container, row]));
  assert.is(byName.fails?.exitCode, 3, 'the failing container exited with 3');
  assert.is(byName.succeeds?.exitCode, 0, 'the succeeding container exited with 0');
  const table = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.match(table.stdout, /fails\s+exited \(3\)/, 'the table shows the exit code');
  const logs = await corral(context.sandbox, ['-p', context.project, 'logs', 'job/fails']);
  assert.is(logs.stdout.trim(), 'about to fail', 'its output is kept after it exited');
});

exits('up again starts failed containers anew and says why; one that completed stays done', async (context) => {
  const dryRun = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--dry-run']);
  assert.is(dryRun.exitCode, 0, `dry run fails: ${dryRun.stderr}`);
  assert.equal(dryRun.stdout.trim().split('\n'), ['start job/fails: exited with code 3', '1 container up to date'], 'the plan in stable text');
});

exits.run();
