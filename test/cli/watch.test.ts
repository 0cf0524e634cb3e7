import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliEntry, corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// `corral watch` with real containers: an editor's atomic save of one container's env recreates it
// alone; a broken save is reported with its line and column while the project keeps running; the
// fix applies; Ctrl-C (SIGTERM here) takes the project down.

interface Row { pod: string; container: string; state: string; created: string | null }
interface Context { sandbox: Sandbox; project: string; file: string; child?: ResultPromise; output: string }

const watching = suite<Context>('corral watch');

function projectText(rootfs: string, version: string, broken = false, extraRule = false): string {
  return `
pods:
  web:
    containers:
      a:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; echo a-up; while true; do sleep 0.2; done"]
        watch:
          - { path: ./src, action: sync, target: /app, ignore: ["*.tmp"], initial_sync: true }
          - { path: ./hooks, action: sync+exec, target: /hooks, exec: { command: ["sh", "-c", "echo reloaded >> /tmp/reloads"] } }
          - { path: ./who, action: sync+exec, target: /who, exec: { command: ["sh", "-c", "echo $$(id -u) $$(pwd) $$VAR > /tmp/who-out"], user: "1234", working_dir: /who, environment: ["VAR=from-list"] } }
          - { path: ./root, action: sync+exec, target: /root-sync, exec: { command: ["sh", "-c", "echo $$(id -u) $$VAR $$(grep CapEff /proc/self/status) > /tmp/root-out"], privileged: true, environment: { VAR: from-mapping } } }
          - { path: ./conf, action: sync+restart, target: /conf }
          - { path: ./inc, action: sync, target: /inc, include: "*.txt", ignore: skip.txt }
          - { path: ./again, action: recreate }
      b:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'exit 0' TERM; echo b-up-$$VERSION; while true; do sleep 0.2; done"]
        env: { VERSION: "${version}" }${broken ? '\n        resources: { memory: [oops }' : ''}${extraRule ? '\n        watch: [{ path: ./extra, action: sync, target: /extra, initial_sync: true }]' : ''}
`;
}

/** Saves as editors do: a temporary file renamed over the original. */
async function atomicSave(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.corral.yaml.${Date.now()}.swp`);
  await writeFile(temporary, text);
  await rename(temporary, file);
}

async function rows(context: Context): Promise<Map<string, Row>> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  return new Map((JSON.parse(result.stdout) as Row[]).map((row) => [`${row.pod}/${row.container}`, row]));
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, 'g')) ?? []).length;

watching.before(async (context) => {
  Object.assign(context, await createProjectSandbox('watch'));
  context.output = '';
  await mkdir(path.join(context.sandbox.work, 'src'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'hooks'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'conf'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'who'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'root'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'inc'), { recursive: true });
  await mkdir(path.join(context.sandbox.work, 'again'), { recursive: true });
  await writeFile(path.join(context.sandbox.work, 'src/initial.txt'), 'there from the start\n');
  await writeFile(path.join(context.sandbox.work, 'src/.gitignore'), 'secret.txt\n');
  await writeFile(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'one'));
});

watching.after(async (context) => {
  if (context.child && context.child.exitCode === null) {
    context.child.kill('SIGTERM');
    await context.child;
  }
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

watching('watch starts the project and follows its output', async (context) => {
  context.child = execa(process.execPath, [cliEntry, '-f', context.file, '-p', context.project, 'watch'], { env: context.sandbox.env, reject: false, timeout: 120_000 });
  context.child.stdout!.on('data', (chunk) => (context.output += chunk));
  await eventually(async () => (context.output.includes('[watch] watching') && context.output.includes('b-up-one') ? true : undefined), 'watch to start and b to print');
  assert.match(context.output, /web\/a\s+\|\s+a-up/, 'prefixed output of a');
});

watching('sync rules copy files into the running container, without a restart, minus ignored ones', async (context) => {
  const pidOf = async () => ((await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json'])).stdout.match(/"container": "a",\s+"state": "running",\s+"pid": (\d+)/) ?? [])[1];
  const before = await pidOf();
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'cat /app/initial.txt')).stdout.trim(), 'there from the start', 'initial_sync');
  await writeFile(path.join(context.sandbox.work, 'src/new.txt'), 'synced\n');
  await writeFile(path.join(context.sandbox.work, 'src/skip.tmp'), 'ignored by the rule\n');
  await writeFile(path.join(context.sandbox.work, 'src/secret.txt'), 'ignored by .gitignore\n');
  const synced = await eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'web.a', 'cat /app/new.txt');
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  }, 'the new file in the container');
  assert.is(synced, 'synced');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'ls /app')).stdout.trim().split('\n').sort().join(' '), 'initial.txt new.txt', 'ignored files stay out');
  assert.is(await pidOf(), before, 'no restart');
  await writeFile(path.join(context.sandbox.work, 'hooks/config.sh'), 'x=1\n');
  const reloads = await eventually(async () => {
    // The shell creates the file before echo writes to it: an empty file is not an answer yet.
    const result = await inside(context.sandbox, context.project, 'web.a', 'cat /tmp/reloads');
    return result.exitCode === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : undefined;
  }, 'the sync+exec command to run');
  assert.is(reloads, 'reloaded');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'cat /hooks/config.sh')).stdout.trim(), 'x=1');
});

watching('a sync+exec command runs as its rule says: user, directory, environment (list or mapping), privileges', async (context) => {
  const outputOf = (file: string) => eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'web.a', `cat ${file}`);
    return result.exitCode === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : undefined;
  }, `the command to write ${file}`);
  await writeFile(path.join(context.sandbox.work, 'who/trigger.txt'), 'go\n');
  assert.is(await outputOf('/tmp/who-out'), '1234 /who from-list');
  await writeFile(path.join(context.sandbox.work, 'root/trigger.txt'), 'go\n');
  const [uid, variable, ...capabilities] = (await outputOf('/tmp/root-out')).split(/\s+/);
  assert.equal([uid, variable], ['0', 'from-mapping']);
  const own = (await inside(context.sandbox, context.project, 'web.a', 'grep CapEff /proc/self/status')).stdout.trim().split(/\s+/)[1];
  assert.is.not(capabilities[1], own, 'more capabilities than the container has');
});

watching('a rule with include syncs only the files it matches, minus its ignore', async (context) => {
  await writeFile(path.join(context.sandbox.work, 'inc/other.log'), 'not included\n');
  await writeFile(path.join(context.sandbox.work, 'inc/skip.txt'), 'ignored\n');
  await writeFile(path.join(context.sandbox.work, 'inc/wanted.txt'), 'included\n');
  await eventually(async () => ((await inside(context.sandbox, context.project, 'web.a', 'cat /inc/wanted.txt')).exitCode === 0 ? true : undefined), 'the included file in the container');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'ls /inc')).stdout.trim(), 'wanted.txt', 'only the included file');
});

watching('a sync+restart rule restarts the container, which keeps what was synced', async (context) => {
  const before = (await rows(context)).get('web/a')!;
  const ups = count(context.output, /web\/a\s+\|\s+a-up/);
  await writeFile(path.join(context.sandbox.work, 'conf/app.conf'), 'level=2\n');
  await eventually(async () => (count(context.output, /web\/a\s+\|\s+a-up/) > ups ? true : undefined), 'a to start again');
  const after = (await rows(context)).get('web/a')!;
  assert.is(after.state, 'running');
  assert.is.not(after.created, before.created, 'a new process');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'cat /conf/app.conf')).stdout.trim(), 'level=2', 'the synced file');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'cat /app/new.txt')).stdout.trim(), 'synced', 'what an earlier rule synced survives the restart');
  assert.match(context.output, /watch: web\/a\s+sync\+restart \(1 file\)/);
});

watching('an atomic save that changes b\'s env recreates b alone', async (context) => {
  const before = await rows(context);
  await atomicSave(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'two'));
  await eventually(async () => (context.output.includes('b-up-two') ? true : undefined), 'the new b to print');
  assert.match(context.output, /applied at .*: recreate web\/b \(/, 'the status says what changed');
  const after = await rows(context);
  assert.is(after.get('web/a')!.created, before.get('web/a')!.created, 'a was left alone');
  assert.is.not(after.get('web/b')!.created, before.get('web/b')!.created, 'b is new');
});

watching('a broken save is reported with line and column; the project keeps running; the fix applies', async (context) => {
  const before = await rows(context);
  const applied = count(context.output, /applied at/);
  await atomicSave(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'three', true));
  await eventually(async () => (context.output.includes('the last good state keeps running') ? true : undefined), 'the error to be reported');
  // Line 20 of projectText: the `resources` line the broken save adds to b.
  assert.match(context.output, new RegExp(`corral: ${context.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:20:\\d+: `), 'file:line:col of the mistake');
  const during = await rows(context);
  assert.equal([...during.values()].map((row) => [row.state, row.created]), [...before.values()].map((row) => [row.state, row.created]), 'nothing changed');
  await atomicSave(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'three'));
  await eventually(async () => (context.output.includes('b-up-three') ? true : undefined), 'the fix to apply');
  assert.is(count(context.output, /applied at/), applied + 1, 'one apply for the fix');
});

watching('a burst of saves is one apply', async (context) => {
  const applied = count(context.output, /applied at/);
  for (let save = 0; save < 8; save++) await writeFile(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'four'));
  await eventually(async () => (context.output.includes('b-up-four') ? true : undefined), 'the burst to apply');
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.is(count(context.output, /applied at/), applied + 1, 'exactly one apply');
});

watching('a rule added to the file works at once, without recreating anything', async (context) => {
  const before = await rows(context);
  await mkdir(path.join(context.sandbox.work, 'extra'), { recursive: true });
  await writeFile(path.join(context.sandbox.work, 'extra/first.txt'), 'first\n');
  await atomicSave(context.file, projectText(context.sandbox.env.CORRAL_ROOTFS!, 'four', false, true));
  const first = await eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'web.b', 'cat /extra/first.txt');
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  }, 'the initial sync of the new rule');
  assert.is(first, 'first');
  await writeFile(path.join(context.sandbox.work, 'extra/later.txt'), 'later\n');
  const later = await eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'web.b', 'cat /extra/later.txt');
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  }, 'a change under the new rule\'s path');
  assert.is(later, 'later');
  const after = await rows(context);
  assert.equal([...after.values()].map((row) => row.created), [...before.values()].map((row) => row.created), 'no container was recreated');
});

watching('a recreate rule: the next apply recreates the container as an operation of its plan, and syncs into the new one', async (context) => {
  const before = await rows(context);
  await writeFile(path.join(context.sandbox.work, 'again/trigger.txt'), 'go\n');
  await eventually(async () => (/applied at .*: recreate web\/a \(/.test(context.output) ? true : undefined), 'the apply to recreate a');
  const after = await rows(context);
  assert.is(after.get('web/a')!.state, 'running', 'a runs');
  assert.is.not(after.get('web/a')!.created, before.get('web/a')!.created, 'a is new');
  assert.is(after.get('web/b')!.created, before.get('web/b')!.created, 'b was left alone');
  assert.is((await inside(context.sandbox, context.project, 'web.a', 'cat /app/initial.txt')).stdout.trim(), 'there from the start', 'initial_sync into the new container');
});

watching('SIGTERM takes the project down', async (context) => {
  context.child!.kill('SIGTERM');
  const result = await context.child!;
  assert.is(result.exitCode, 0, String(result.stderr));
  assert.match(context.output, /✔ web\/b\s+removed/);
});

watching.run();
