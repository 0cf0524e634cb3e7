import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { isInsideWindow, parseLogTime } from '../../src/runtime/log-window.js';
import { logWindowOf } from '../../src/cli/logs.js';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';

// `logs --tail N --since T --until T -t --no-log-prefix` read as docker compose reads them, on the
// records conmon wrote for real containers; the time forms and the window are also checked alone.

const times = suite('logs: the times --since and --until accept');
const NOW = Date.parse('2026-11-30T08:00:00Z');

times('a date with a zone, a date without one (UTC), a date alone, Unix seconds, Go durations', () => {
  assert.is(parseLogTime('2026-11-30T07:00:00Z', NOW), Date.parse('2026-11-30T07:00:00Z'));
  assert.is(parseLogTime('2026-11-30T07:00:00+01:00', NOW), Date.parse('2026-11-30T06:00:00Z'));
  assert.is(parseLogTime('2026-11-30T07:00:00.25', NOW), Date.parse('2026-11-30T07:00:00.250Z'));
  assert.is(parseLogTime('2026-11-30', NOW), Date.parse('2026-11-30T00:00:00Z'));
  assert.is(parseLogTime('1796025600', NOW), 1796025600_000);
  assert.is(parseLogTime('1796025600.5', NOW), 1796025600_500);
  assert.is(parseLogTime('10m', NOW), NOW - 600_000);
  assert.is(parseLogTime('1h30m', NOW), NOW - 5_400_000);
  assert.is(parseLogTime('1.5h', NOW), NOW - 5_400_000);
  assert.is(parseLogTime('250ms', NOW), NOW - 250);
});

times('what is none of them is refused, not read as something else', () => {
  for (const text of ['yesterday', '10', '10x', 'm10', '1h 30m', '2026-13-01', '2026-11-30T25:00:00Z', '']) {
    if (text === '10') continue; // Unix seconds: a time in 1970, as docker reads it
    assert.is(parseLogTime(text, NOW), undefined, text);
  }
  assert.is(parseLogTime('10', NOW), 10_000);
});

times('the window: since inclusive, until exclusive, a record without a readable time kept', () => {
  const at = (time: string) => ({ time, stream: 'stdout' as const, partial: false, text: 'x' });
  const window = { sinceMs: Date.parse('2026-11-30T07:00:00Z'), untilMs: Date.parse('2026-11-30T07:01:00Z') };
  assert.ok(isInsideWindow(at('2026-11-30T07:00:00.000000000+00:00'), window));
  assert.ok(isInsideWindow(at('2026-11-30T07:00:59.999000000+00:00'), window));
  assert.not.ok(isInsideWindow(at('2026-11-30T07:01:00.000000000+00:00'), window));
  assert.not.ok(isInsideWindow(at('2026-11-30T06:59:59.999000000+00:00'), window));
  assert.ok(isInsideWindow(at('not-a-time'), window));
});

times('the flags: --tail all is no limit, a bad --tail or time is a usage error naming the flag', () => {
  assert.equal(logWindowOf({ tail: 'all' }, NOW), { tail: undefined, sinceMs: undefined, untilMs: undefined });
  assert.equal(logWindowOf({ tail: '0', since: '1m' }, NOW), { tail: 0, sinceMs: NOW - 60_000, untilMs: undefined });
  assert.throws(() => logWindowOf({ tail: '-1' }, NOW), /--tail -1/);
  assert.throws(() => logWindowOf({ tail: 'ten' }, NOW), /--tail ten/);
  assert.throws(() => logWindowOf({ since: 'yesterday' }, NOW), /--since yesterday: not a time/);
});

times.run();

interface Context extends ProjectSandbox, SetupState {}

const logs = suite<Context>('logs flags on real containers');

logs.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('logs'));
  await writeFile(context.file, `
pods:
  talk:
    containers:
      early:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$$i; done; sleep 1.5; echo late-1; echo late-2; exec sleep 3600"]
      other:
        rootfs: ${context.rootfs}
        command: ["sh", "-c", "echo other-says; exec sleep 3600"]
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up -d: ${up.stderr}`);
}));

logs.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const logLines = async (context: Context, args: readonly string[]) => {
  const result = await corral(context.sandbox, ['-p', context.project, 'logs', ...args]);
  assert.is(result.exitCode, 0, `logs ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean);
};

logs('--tail 2 shows the last two lines; --tail 0 none; without it all seven', async (context) => {
  assertSetUp(context);
  await eventually(async () => ((await logLines(context, ['talk/early'])).length === 7 ? true : undefined), 'late-2 written');
  assert.equal(await logLines(context, ['talk/early', '--tail', '2']), ['late-1', 'late-2']);
  assert.equal(await logLines(context, ['talk/early', '--tail', '0']), []);
  assert.equal(await logLines(context, ['talk/early', '-n', 'all']), ['line-1', 'line-2', 'line-3', 'line-4', 'line-5', 'late-1', 'late-2']);
});

logs('-t starts lines with the time written; --since and --until split the log at a line\'s time', async (context) => {
  assertSetUp(context);
  const stamped = await logLines(context, ['talk/early', '-t']);
  assert.is(stamped.length, 7, stamped.join('\n'));
  for (const line of stamped) assert.match(line, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z (line|late)-\d$/);
  const lateAt = stamped.find((line) => line.endsWith('late-1'))!.split(' ')[0]!;
  assert.equal(await logLines(context, ['talk/early', '--since', lateAt]), ['late-1', 'late-2']);
  assert.equal(await logLines(context, ['talk/early', '--until', lateAt]), ['line-1', 'line-2', 'line-3', 'line-4', 'line-5']);
  assert.is((await logLines(context, ['talk/early', '--since', '1h'])).length, 7, 'everything was written within the hour');
  assert.equal(await logLines(context, ['talk/early', '--since', '2999-01-01T00:00:00Z']), []);
});

logs('several containers: prefixed by default, bare with --no-log-prefix', async (context) => {
  assertSetUp(context);
  const prefixed = await logLines(context, ['talk', '--tail', '1']);
  assert.equal(prefixed.sort(), ['talk/early | late-2', 'talk/other | other-says']);
  assert.equal((await logLines(context, ['talk', '--tail', '1', '--no-log-prefix'])).sort(), ['late-2', 'other-says']);
});

logs('a time that is none of the forms: exit 1, naming the flag and the forms, before anything is read', async (context) => {
  assertSetUp(context);
  const result = await corral(context.sandbox, ['-p', context.project, 'logs', '--since', 'yesterday']);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /--since yesterday: not a time/);
  assert.match(result.stderr, /duration back from now/);
});

logs.run();
