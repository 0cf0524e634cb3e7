import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createSandbox, eventually, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { CHECKPOINT_OBSERVATIONS_FILE, CHECKPOINT_STILL_MS, type CountRecord } from './observations.js';
import { cli, ps, recorder } from './recorder.js';
import { repositoryRoot } from '../helpers/sandbox.js';
import { measureWarmStart } from '../../bench/warm-start.js';

// Runs INSIDE the test guest (Debian 12's kernel and CRIU), started by checkpoint.test.ts through
// scripts/guest/run.sh with the built checkout at /checkout. A container that counts in memory is
// checkpointed and restored as a user does it (checkpoint, restore, --leave-running, --export and
// restore --import into fresh state dirs standing in for another host, a restore refused after the
// project file changed); each step's outcome goes into $CORRAL_GUEST_JOB/checkpoint.json for the
// suite on the host to assert on (observations.ts).

/** How long a count gets to show a new number under emulation on a loaded host. */
const COUNT_TIMEOUT_MS = 180_000;
/** The subnet of the counting project, here and elsewhere (the placeholder is on it too). */
const MOVED_SUBNET = '10.89.201.0/24';

/**
 * One pod, one container counting once a second in a shell variable; `always` would restart it. The
 * network's subnet is given, as a project moved between hosts keeps it (a project's own subnet is
 * chosen by its run dir, which differs between the sandboxes standing in for two hosts).
 */
const projectFile = (rootfs: string, greeting: string) => [
  'networks:',
  '  default:',
  `    subnet: ${MOVED_SUBNET}`,
  'pods:',
  '  counter:',
  '    restart: always',
  '    containers:',
  '      app:',
  `        rootfs: ${rootfs}`,
  `        env: { GREETING: ${greeting} }`,
  '        command: [sh, -c, "echo made-before-the-checkpoint > /made.txt; rm -rf /home/app; i=0; while :; do i=$$((i+1)); echo $$i; sleep 1; done"]',
  '',
].join('\n');

/** One pod of two counting containers sharing the pod's net, IPC and UTS namespaces (the default). */
const podFile = (rootfs: string) => [
  'pods:',
  '  duo:',
  '    containers:',
  ...['a', 'b'].flatMap((name) => [
    `      ${name}:`,
    `        rootfs: ${rootfs}`,
    '        command: [sh, -c, "i=0; while :; do i=$$((i+1)); echo $$i; sleep 1; done"]',
  ]),
  '',
].join('\n');

/** A pod that holds an address of the project's network for a while (checkpoint-elsewhere). */
const placeholderFile = (rootfs: string) => [
  'pods:',
  '  holder:',
  '    containers:',
  '      main:',
  `        rootfs: ${rootfs}`,
  '        command: [sleep, "3600"]',
  '        stop_signal: SIGKILL',
  'networks:',
  '  default:',
  `    subnet: ${MOVED_SUBNET}`,
  '',
].join('\n');

const job = process.env.CORRAL_GUEST_JOB;
const { step } = recorder(job ?? '', CHECKPOINT_OBSERVATIONS_FILE);

/** The numbers the container printed, in order, from `corral logs` (each line `prefix | N`). */
async function counts(sandbox: Sandbox, project: string, resource = 'counter/app'): Promise<number[]> {
  const logs = await cli(sandbox, ['-p', project, 'logs', resource]);
  if (logs.exitCode !== 0) throw new Error(`corral logs exited ${logs.exitCode}: ${logs.stderr}`);
  return logs.stdout.split('\n').map((line) => line.replace(/^.*?\|\s?/, '').trim()).filter((text) => /^\d+$/.test(text)).map(Number);
}

/** Waits until the count passes `above`, and returns all numbers so far. */
async function countPast(sandbox: Sandbox, project: string, above: number, resource = 'counter/app'): Promise<number[]> {
  return eventually(async () => {
    const seen = await counts(sandbox, project, resource);
    return (seen.at(-1) ?? 0) > above ? seen : undefined;
  }, `the count of ${resource} past ${above}`, COUNT_TIMEOUT_MS);
}

/** The counter pod's address, as its network record says. */
async function podAddress(sandbox: Sandbox, project: string): Promise<string | null> {
  const record = JSON.parse(await readFile(path.join(sandbox.run, project, 'pods', 'counter', 'network.json'), 'utf8')) as { ip?: string };
  return record.ip ?? null;
}

/** The namespaces a process is in (`net:[4026532...]`), by type. */
async function namespacesOf(pid: number): Promise<Record<string, string>> {
  const kinds = ['net', 'ipc', 'uts'];
  return Object.fromEntries(await Promise.all(kinds.map(async (kind) => [kind, String((await execa('readlink', [`/proc/${pid}/ns/${kind}`])).stdout)] as const)));
}

/** Each container of the pod: its state, pid and namespaces. */
async function podMembers(sandbox: Sandbox, project: string) {
  const rows = await ps(sandbox, project);
  return Promise.all(rows.map(async (row) => ({ container: row.container, state: row.state, pid: row.pid, ns: row.pid && row.state === 'running' ? await namespacesOf(row.pid) : {} })));
}

/** A pod of two containers checkpointed as one and restored: its containers still share the pod's namespaces, and count on. */
async function podCheckpoint(): Promise<void> {
  const sandbox = await createSandbox('checkpoint-pod');
  const rootfs = sandbox.env.CORRAL_ROOTFS!;
  const project = sandbox.projectName('duo');
  const file = path.join(sandbox.work, 'corral.yaml');
  await mkdir(sandbox.work, { recursive: true });
  await writeFile(file, podFile(rootfs));
  const run = (args: string[]) => cli(sandbox, ['-f', file, '-p', project, ...args]);
  await step('podUp', () => run(['up', '-d']));
  await step('podCounting', async () => ({ a: await countPast(sandbox, project, 3, 'duo/a'), b: await countPast(sandbox, project, 3, 'duo/b') }));
  await step('podBefore', () => podMembers(sandbox, project));
  await step('podCheckpoint', () => run(['checkpoint', 'duo']));
  const stopped = await step('podStopped', async () => ({ members: await podMembers(sandbox, project), a: await counts(sandbox, project, 'duo/a'), b: await counts(sandbox, project, 'duo/b') }));
  await step('podRestore', () => run(['restore', 'duo']));
  await step('podAfter', async () => ({
    members: await podMembers(sandbox, project),
    a: await countPast(sandbox, project, (stopped?.a.at(-1) ?? 0) + 2, 'duo/a'),
    b: await countPast(sandbox, project, (stopped?.b.at(-1) ?? 0) + 2, 'duo/b'),
    stoppedA: stopped?.a.at(-1), stoppedB: stopped?.b.at(-1),
  }));
  await step('podDown', () => run(['down']));
  await step('podLeaks', () => findLeaks({ dirs: [sandbox.run, sandbox.state], projects: [project] }));
  await sandbox.dispose();
}

async function state(sandbox: Sandbox, project: string) {
  const row = (await ps(sandbox, project))[0];
  return { state: row?.state ?? 'absent', pid: row?.pid ?? null, restarts: row?.restarts ?? 0 };
}

/** What `checkpoint` left in the container's state dir: the record and the CRIU images' names. */
async function checkpointFiles(sandbox: Sandbox, project: string) {
  const dir = path.join(sandbox.state, 'projects', project, 'containers', `${project}.counter.app`);
  const record = JSON.parse(await readFile(path.join(dir, 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
  return { record, images: (await readdir(path.join(dir, 'checkpoint'))).sort() };
}

/** What `corral events` told of the project so far: each event's action and attributes. */
async function toldEvents(sandbox: Sandbox, project: string): Promise<{ action: string; attributes: Record<string, unknown> }[]> {
  const events = await cli(sandbox, ['-p', project, 'events', '--json', '--since', '2h', '--until', '0s']);
  return events.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { action: string; attributes: Record<string, unknown> }).map((event) => ({ action: event.action, attributes: event.attributes }));
}

/** The count after a checkpoint stopped the container: where it stood, that it stays there, and what events told meanwhile. */
async function stoppedCount(sandbox: Sandbox, project: string): Promise<CountRecord> {
  const before = await counts(sandbox, project);
  await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_STILL_MS));
  return { before, after: await counts(sandbox, project), ...(await state(sandbox, project)), actions: (await toldEvents(sandbox, project)).map((event) => event.action) };
}

/** The counting container alone: checkpoint, restore, what ps/events/logs say, takeover, --leave-running, export and import. */
async function singleContainer(): Promise<void> {
  const sandbox = await createSandbox('checkpoint');
  const project = sandbox.projectName('count');
  const file = path.join(sandbox.work, 'corral.yaml');
  const changed = path.join(sandbox.work, 'changed.yaml');
  const rootfs = sandbox.env.CORRAL_ROOTFS!;
  await writeFile(file, projectFile(rootfs, 'hello'));
  await writeFile(changed, projectFile(rootfs, 'changed'));
  const run = (args: string[], from = file) => cli(sandbox, ['-f', from, '-p', project, ...args]);

  await step('up', () => run(['up', '-d']));
  await step('counting', () => countPast(sandbox, project, 3));
  await step('checkpoint', () => run(['checkpoint', 'counter/app']));
  await step('criuCheck', async () => JSON.parse(await readFile(path.join(sandbox.state, 'criu-check.json'), 'utf8')) as unknown);
  await step('checkpointFiles', () => checkpointFiles(sandbox, project));
  const stopped = await step('afterCheckpoint', () => stoppedCount(sandbox, project));
  await step('restoreChanged', () => run(['restore', 'counter/app'], changed));
  await step('restore', () => run(['restore', 'counter/app']));
  await step('afterRestore', async () => ({ counts: await countPast(sandbox, project, (stopped?.after.at(-1) ?? 0) + 2), ...(await state(sandbox, project)) }));
  // What ps, events and logs say of the checkpoint and the restore.
  await step('toldRestored', async () => {
    const rows = await cli(sandbox, ['-p', project, 'ps', '--format', 'json']);
    const table = await cli(sandbox, ['-p', project, 'ps']);
    const logs = await cli(sandbox, ['-p', project, 'logs', 'counter/app']);
    return {
      restored: (JSON.parse(rows.stdout) as { restored: unknown }[])[0]?.restored ?? null,
      table: table.stdout,
      events: await toldEvents(sandbox, project),
      notes: logs.stdout.split('\n').filter((line) => line.includes('[corral]')),
    };
  });

  // The restored container is the supervisor's like any other: killed, its restart policy brings it back.
  await step('takenOver', async () => {
    const before = await state(sandbox, project);
    if (!before.pid) throw new Error(`the restored container has no pid: ${JSON.stringify(before)}`);
    process.kill(before.pid, 'SIGKILL');
    const after = await eventually(async () => {
      const now = await state(sandbox, project);
      return now.state === 'running' && now.pid !== before.pid ? now : undefined;
    }, 'the restart of the killed, restored container', COUNT_TIMEOUT_MS);
    return { before, after };
  });

  await step('leaveRunning', async () => {
    const before = await state(sandbox, project);
    const seen = await countPast(sandbox, project, 2);
    const result = await run(['checkpoint', '--leave-running', 'counter/app']);
    const after = await state(sandbox, project);
    return { result, before, after, counts: await countPast(sandbox, project, (seen.at(-1) ?? 0) + 2) };
  });

  // Another host: the exported archive restored into fresh state and run dirs, the container made by `create`.
  const archive = path.join(sandbox.work, 'counter.tar.gz');
  await step('export', () => run(['checkpoint', '--export', archive, 'counter/app']));
  const exported = await step('exportedCount', () => stoppedCount(sandbox, project));
  await step('down', () => run(['down']));
  await step('imagesGone', async () => readdir(path.join(sandbox.state, 'projects', project, 'containers')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  }));
  const elsewhere = await createSandbox('checkpoint-elsewhere');
  await mkdir(elsewhere.work, { recursive: true });
  const there = (args: string[], from = file) => cli(elsewhere, ['-f', from, '-p', project, ...args]);
  // A pod up there first, removed once the counter's pod is made, so that the counter's fresh pod
  // gets another address than the one it was dumped with, which is free again by the restore.
  const placeholder = path.join(elsewhere.work, 'placeholder.yaml');
  await writeFile(placeholder, placeholderFile(rootfs));
  await step('placeholderElsewhere', () => there(['up', '-d'], placeholder));
  await step('createElsewhere', () => there(['create']));
  await step('placeholderGone', () => there(['rm', '-s', 'holder'], placeholder));
  await step('addressElsewhere', async () => ({
    recorded: (JSON.parse(String((await execa('tar', ['-xaOf', archive, 'checkpoint.json'])).stdout)) as { podNetwork?: { ip: string } }).podNetwork?.ip ?? null,
    created: await podAddress(elsewhere, project),
  }));
  await step('importElsewhere', () => there(['restore', '--import', archive, 'counter/app']));
  await step('afterImport', async () => ({
    counts: await countPast(elsewhere, project, (exported?.after.at(-1) ?? 0) + 2), ...(await state(elsewhere, project)),
    address: await podAddress(elsewhere, project), seenInside: (await there(['exec', 'counter/app', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout,
  }));
  // The upper dir's changes came with the export: a file the container made, a directory it removed.
  await step('upperElsewhere', async () => ({
    made: await there(['exec', 'counter/app', 'cat', '/made.txt']),
    home: await there(['exec', 'counter/app', 'ls', '-d', '/home/app']),
  }));
  await step('downElsewhere', () => there(['down']));
  await step('leaks', async () => [
    ...await findLeaks({ dirs: [sandbox.run, sandbox.state], projects: [project] }),
    ...await findLeaks({ dirs: [elsewhere.run, elsewhere.state], projects: [project] }),
  ]);
  await elsewhere.dispose();
  await sandbox.dispose();
}

/** up --restore, and the bench's figure where CRIU works: a slow-to-warm service, cold against restored. */
async function warmStart(): Promise<void> {
  const warm = await createSandbox('checkpoint-warm');
  await step('warmStart', () => measureWarmStart({ cli: path.join(repositoryRoot, 'dist/bin/corral.js'), env: warm.env, dir: warm.work, rootfs: warm.env.CORRAL_ROOTFS!, runs: 1, timeoutMs: COUNT_TIMEOUT_MS }));
  await step('warmLeaks', () => findLeaks({ dirs: [warm.run, warm.state], projects: ['warm'] }));
  await warm.dispose();
}

const PARTS = { single: singleContainer, pod: podCheckpoint, warm: warmStart };

async function main(): Promise<void> {
  if (!job) throw new Error('CORRAL_GUEST_JOB is not set: this program runs inside the test guest (see test/hosts/checkpoint.test.ts)');
  await step('host', async () => ({
    kernel: String((await execa('uname', ['-r'])).stdout).trim(),
    criu: String((await execa('criu', ['--version'], { reject: false })).stdout).trim(),
  }));
  // CORRAL_CHECKPOINT_PARTS=pod,warm runs some parts alone, for a look by hand in the guest; the suite runs all.
  const names = (process.env.CORRAL_CHECKPOINT_PARTS ?? Object.keys(PARTS).join(',')).split(',') as (keyof typeof PARTS)[];
  for (const name of names) {
    if (!PARTS[name]) throw new Error(`CORRAL_CHECKPOINT_PARTS: no part ${name} (parts: ${Object.keys(PARTS).join(', ')})`);
    await PARTS[name]();
  }
}

await main();
