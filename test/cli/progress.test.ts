import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { cliEntry, createProjectSandbox, downAndAssertNothingLeaks, type ProjectSandbox } from '../helpers/sandbox.js';

// Progress lines reach a pipe (a CI log, `| tee`) as each step happens, not all at once when the
// command ends: `b` can start only after `a` is healthy, about two seconds after `a` started, and the
// line saying `a` started must have been read by then.

interface Context extends ProjectSandbox, SetupState {}

const progress = suite<Context>('progress lines on a pipe');

/** How long `a` takes to become healthy: the gap the two lines must show. */
const HEALTHY_AFTER_S = 3;

progress.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('progress'));
  await writeFile(context.file, `
pods:
  a:
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "sleep ${HEALTHY_AFTER_S}; touch /tmp/ok; exec sleep 3600"]
        stop_signal: SIGKILL
        healthcheck: { test: ["CMD", "test", "-e", "/tmp/ok"], interval: 200ms, start_period: 20s, start_interval: 200ms }
  b:
    containers:
      main:
        rootfs: ${context.rootfs}
        command: ["sleep", "3600"]
        stop_signal: SIGKILL
        depends_on: { a/main: { condition: service_healthy } }
`);
}));

progress.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

progress('up -d into a pipe: "a/main started" arrives while b still waits for a to be healthy', async (context) => {
  assertSetUp(context);
  const child = execa(process.execPath, [cliEntry, '-f', context.file, '-p', context.project, 'up', '-d'], { env: context.sandbox.env, cwd: context.sandbox.work, reject: false, stdin: 'ignore', timeout: 120_000 });
  const arrivals: { at: number; line: string }[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) arrivals.push({ at: Date.now(), line });
  });
  const result = await child;
  assert.is(result.exitCode, 0, String(result.stderr));
  const when = (pattern: RegExp) => {
    const found = arrivals.find((arrival) => pattern.test(arrival.line));
    assert.ok(found, `a line matching ${pattern} in:\n${arrivals.map((arrival) => arrival.line).join('\n')}`);
    return found.at;
  };
  const gapMs = when(/b\/main\s+started/) - when(/a\/main\s+started/);
  // Not a speed check: b cannot start before a is healthy; only a line held back until the end can make the gap small.
  assert.ok(gapMs >= (HEALTHY_AFTER_S - 1.5) * 1000, `the line for a/main came ${gapMs} ms before b/main's: held back and written at the end`);
});

progress.run();
