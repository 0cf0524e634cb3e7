import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';

// Independent pods are made in parallel, dependents after what they depend on. Seen through the
// runtime itself: a wrapper around runc logs when each `runc create` begins and ends, and holds each
// create for a moment, so that creates made one after another can never overlap and parallel ones
// always do. No clock is compared; only the order of the log lines.

interface Context { sandbox: Sandbox; project: string; log: string }
const parallel = suite<Context>('parallel and ordered creation');

parallel.before(async (context) => {
  context.sandbox = await createSandbox('parallel');
  context.project = context.sandbox.projectName('par');
  context.log = path.join(context.sandbox.work, 'runtime.log');
  const wrapper = path.join(context.sandbox.work, 'runc-logging');
  await writeFile(wrapper, [
    '#!/bin/sh',
    'for last; do :; done',
    'case " $* " in',
    `  *" create "*) echo "begin $last" >> ${context.log}; sleep 0.4; /usr/sbin/runc "$@"; code=$?; echo "end $last" >> ${context.log}; exit $code ;;`,
    'esac',
    'exec /usr/sbin/runc "$@"',
    '',
  ].join('\n'));
  await chmod(wrapper, 0o755);
  context.sandbox.env.CORRAL_RUNTIME = wrapper;
});

parallel.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

const sleeper = (rootfs: string) => `{ rootfs: ${rootfs}, command: [sh, -c, "trap 'exit 0' TERM; sleep 60 & wait"] }`;

parallel('four independent pods are created at once; a dependent only after its dependency', async (context) => {
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(file, [
    'pods:',
    ...['a', 'b', 'c', 'd'].flatMap((pod) => [`  ${pod}:`, '    network: none', '    containers:', `      main: ${sleeper(rootfs)}`]),
    '  later:',
    '    network: none',
    '    depends_on: [a]',
    '    containers:',
    `      main: ${sleeper(rootfs)}`,
    '',
  ].join('\n'));
  const up = await corral(context.sandbox, ['-f', file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
  const events = (await readFile(context.log, 'utf8')).trim().split('\n').map((line) => {
    const [kind, id] = line.split(' ') as [string, string];
    return { kind, pod: id.split('.')[1] };
  });
  assert.is(events.filter((event) => event.kind === 'begin').length, 5, `one create per container: ${JSON.stringify(events)}`);
  let open = 0;
  let mostAtOnce = 0;
  for (const event of events) {
    open += event.kind === 'begin' ? 1 : -1;
    mostAtOnce = Math.max(mostAtOnce, open);
  }
  assert.ok(mostAtOnce >= 2, `creates overlapped (at most ${mostAtOnce} at once): ${JSON.stringify(events)}`);
  const position = (kind: string, pod: string) => events.findIndex((event) => event.kind === kind && event.pod === pod);
  assert.ok(position('begin', 'later') > position('end', 'a'), 'the dependent was created after its dependency');
});

parallel.run();
