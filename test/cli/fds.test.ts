import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { readPidFile } from '../../src/runtime/conmon.js';
import { cliEntry, corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// A container's processes get stdin, stdout and stderr and no other file descriptor: none of Corral,
// conmon or runc (CVE-2024-21626 was runc's descriptor of the host's /sys/fs/cgroup left open into the
// container, a way out to the host's filesystem), and none of the command that started them. Looked at
// from the host, /proc/PID/fd, which sees the truth without a process of its own, and from inside, `ls`
// of /proc/1/fd from a separate exec, so that the listing's own descriptors are not counted; for every
// way a process comes to be: up, exec, restart, a restart by the supervisor, and the holder that is pid
// 1 of a pod sharing its PID namespace. Every command is given a file open as its descriptor 100, as a
// caller may (a make jobserver, a CI runner's pipe): nothing that outlives the command (conmon, the
// supervisor, the holder, the container) may keep it.

interface Context {
  sandbox: Sandbox;
  project: string;
  file: string;
  /** The file every command of the suite is given open as its descriptor 100. */
  callerFile: string;
}

interface Row { pod: string; container: string; state: string; pid: number | null; restarts: number }

const descriptors = suite<Context>('a container\'s processes get stdin, stdout and stderr and no other descriptor');

/**
 * Runs the CLI like `corral()`, from a shell that has the caller's file open as descriptor 100: Node
 * itself marks 0 to 16 close-on-exec when it starts, so only a higher one shows what Corral passes on.
 */
async function corralWithCallerDescriptor(context: Context, args: readonly string[]) {
  const result = await execa('bash', ['-c', 'file=$1; shift; exec "$@" 100>>"$file"', 'bash', context.callerFile, process.execPath, cliEntry, ...args], {
    cwd: context.sandbox.work, env: { ...context.sandbox.env }, reject: false, timeout: 120_000, stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function runningRow(context: Context, resource: string): Promise<Row> {
  const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps fails: ${result.stderr}`);
  const row = (JSON.parse(result.stdout) as Row[]).find((candidate) => `${candidate.pod}/${candidate.container}` === resource);
  assert.ok(row?.pid, `${resource} runs, with a pid: ${result.stdout}`);
  return row!;
}

/** What a process has open, seen from the host: descriptor number -> what it points to. */
async function descriptorsOf(pid: number): Promise<Map<number, string>> {
  const entries = (await readdir(`/proc/${pid}/fd`)).map(Number).sort((a, b) => a - b);
  return new Map(await Promise.all(entries.map(async (fd) => [fd, await readlink(`/proc/${pid}/fd/${fd}`)] as const)));
}

/** The descriptors a busybox `ls -l /proc/PID/fd` lists, from its `... 1 -> pipe:[123]` lines. */
function listedDescriptors(listing: string): Map<number, string> {
  const lines = listing.split('\n').map((line) => /\s(\d+) -> (.*)$/.exec(line)).filter((match) => match !== null);
  return new Map(lines.map((match) => [Number(match![1]), match![2]!] as const));
}

/** The parent pid, field 4 of /proc/PID/stat (counted after the name, which may hold spaces). */
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const described = (open: Map<number, string>) => [...open].map(([fd, target]) => `${fd} -> ${target}`).join(', ');

function projectFiles(context: Context, resource: string) {
  const run = path.join(context.sandbox.run, context.project);
  const state = path.join(context.sandbox.state, 'projects', context.project);
  const [pod, container] = resource.split('/');
  return {
    conmonPidFile: path.join(run, 'containers', `${context.project}.${pod}.${container}`, 'conmon.pid'),
    pidHolder: path.join(run, 'pods', pod!, 'pid-holder'),
    lock: path.join(run, 'lock'),
    supervisorLock: path.join(run, 'supervisor.lock'),
    machines: path.join(state, 'machines.json'),
    supervisorLog: path.join(state, 'supervisor.log'),
  };
}

/**
 * A container's own process: 0 is /dev/null (conmon gives no stdin unless asked), 1 and 2 are pipes
 * whose read ends conmon holds (it writes what comes out to the container's log), and nothing else.
 */
async function assertContainerHasOnlyStdio(pid: number, conmonPid: number, who: string): Promise<void> {
  const open = await descriptorsOf(pid);
  assert.equal([...open.keys()], [0, 1, 2], `${who} has stdin, stdout and stderr and nothing else, but has ${described(open)}`);
  assert.is(open.get(0), '/dev/null', `${who}'s stdin is /dev/null`);
  const conmonHolds = new Set((await descriptorsOf(conmonPid)).values());
  for (const fd of [1, 2]) {
    assert.match(open.get(fd)!, /^pipe:\[\d+\]$/, `${who}'s ${fd} is a pipe`);
    assert.ok(conmonHolds.has(open.get(fd)!), `the other end of ${who}'s ${fd} (${open.get(fd)}) is conmon's`);
  }
  assert.is.not(open.get(1), open.get(2), `${who}'s stdout and stderr are two pipes, so the log tells them apart`);
  const environment = await readFile(`/proc/${pid}/environ`, 'utf8');
  assert.not.match(environment, /(^|\0)(NOTIFY_SOCKET|LISTEN_FDS|LISTEN_PID)=/, `${who} is told of no notify socket or passed sockets: none was asked for`);
}

/** A process that outlives the command that started it keeps nothing of that command: not its descriptor 100, nor a lock it held. */
async function assertKeepsNothingOfTheCaller(context: Context, pid: number, who: string, forbidden: readonly string[] = []): Promise<void> {
  const open = await descriptorsOf(pid);
  for (const target of [context.callerFile, ...forbidden]) {
    const holding = [...open].filter(([, held]) => held === target).map(([fd]) => fd);
    assert.equal(holding, [], `${who} (pid ${pid}) holds ${target} as ${holding.join(', ')}: ${described(open)}`);
  }
}

/** A container's process from the host, its pid 1 from inside, and what its conmon and the supervisor keep. */
async function assertNothingBeyondStdio(context: Context, resource: string, pid: number, who: string): Promise<void> {
  const files = projectFiles(context, resource);
  const conmonPid = await readPidFile(files.conmonPidFile);
  assert.ok(conmonPid > 0, `conmon of ${who} wrote its pid`);
  await assertContainerHasOnlyStdio(pid, conmonPid, who);
  const inside = await corral(context.sandbox, ['-p', context.project, 'exec', resource, '--', 'ls', '-l', '/proc/1/fd']);
  assert.is(inside.exitCode, 0, `ls of /proc/1/fd inside: ${inside.stderr}`);
  assert.equal(listedDescriptors(inside.stdout), await descriptorsOf(pid), `inside, ${who} lists as pid 1 the same three: ${inside.stdout}`);
  // conmon was started while its command held the project lock (restart), or by the supervisor, which holds its own.
  await assertKeepsNothingOfTheCaller(context, conmonPid, `conmon of ${who}`, [files.lock, files.supervisorLock]);
  const supervisorPid = (JSON.parse(await readFile(files.machines, 'utf8')) as { pid: number }).pid;
  await assertKeepsNothingOfTheCaller(context, supervisorPid, 'the supervisor');
}

descriptors.before(async (context) => {
  Object.assign(context, await createProjectSandbox('fds'));
  context.sandbox.env.CORRAL_RESTART_BACKOFF = '300,1200';
  context.callerFile = path.join(context.sandbox.work, 'open-in-the-caller');
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const sleeper = `rootfs: ${rootfs}\n        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]`;
  await writeFile(context.file, [
    'pods:',
    '  box:', '    containers:', `      c:\n        ${sleeper}\n        restart: always`,
    '  joined:', '    share: [net, ipc, uts, pid]', '    containers:', `      c:\n        ${sleeper}`,
    '',
  ].join('\n'));
  const up = await corralWithCallerDescriptor(context, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
});

descriptors.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

descriptors('a container started by up -d: pid 1 has /dev/null and conmon\'s two pipes, nothing else', async (context) => {
  const row = await runningRow(context, 'box/c');
  await assertNothingBeyondStdio(context, 'box/c', row.pid!, 'box/c started by up');
});

descriptors('a pod that shares its PID namespace: pid 1 is Corral\'s holder, with /dev/null as stdio and its own signalfd', async (context) => {
  const row = await runningRow(context, 'joined/c');
  const files = projectFiles(context, 'joined/c');
  await assertContainerHasOnlyStdio(row.pid!, await readPidFile(files.conmonPidFile), 'joined/c started by up');
  const holder = Number((await readFile(files.pidHolder, 'utf8')).trim());
  const open = await descriptorsOf(holder);
  // catatonit waits for signals through a signalfd of its own; that is all it opens.
  const expected = [[0, '/dev/null'], [1, '/dev/null'], [2, '/dev/null'], [3, 'anon_inode:[signalfd]']];
  assert.equal([...open], expected, `the holder (catatonit) has /dev/null as stdio, its signalfd and nothing else, but has ${described(open)}`);
  assert.is(await readlink(`/proc/${holder}/ns/pid`), await readlink(`/proc/${row.pid}/ns/pid`), 'it is the pid 1 of the container\'s PID namespace');
  await assertKeepsNothingOfTheCaller(context, await parentOf(holder), 'unshare, the holder\'s parent', [files.lock]);
});

descriptors('a process started by exec: its stdio are runc exec\'s pipes, nothing else; pid 1 gets nothing from it', async (context) => {
  const { pid } = await runningRow(context, 'box/c');
  // `; true` keeps sh from exec'ing ls in its place: ls lists the descriptors of the sh that exec started.
  const listing = await corralWithCallerDescriptor(context, ['-p', context.project, 'exec', 'box/c', '--', 'sh', '-c', 'ls -l /proc/$$/fd; true']);
  assert.is(listing.exitCode, 0, listing.stderr);
  const listed = listedDescriptors(listing.stdout);
  assert.equal([...listed.keys()], [0, 1, 2], `the exec'd process lists stdin, stdout and stderr only: ${listing.stdout}`);
  for (const [fd, target] of listed) assert.match(target, /^pipe:\[\d+\]$/, `its ${fd} is a pipe of runc exec, which copies it to corral exec's own stdio`);

  // From the host, while it runs: a sleep of a length nobody else sleeps, in the container's PID namespace.
  const exec = corralWithCallerDescriptor(context, ['-p', context.project, 'exec', 'box/c', '--', 'sleep', '31.25']);
  const containerPidNamespace = await readlink(`/proc/${pid}/ns/pid`);
  const execPid = await eventually(async () => {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (command !== 'sleep\x0031.25\x00') continue;
      if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => '')) === containerPidNamespace) return Number(entry);
    }
    return undefined;
  }, 'the exec\'d sleep in the container');
  try {
    const open = await descriptorsOf(execPid);
    assert.equal([...open.keys()], [0, 1, 2], `the exec'd process has stdin, stdout and stderr and nothing else, but has ${described(open)}`);
    const runcHolds = new Set((await descriptorsOf(await parentOf(execPid))).values());
    for (const fd of [1, 2]) assert.ok(runcHolds.has(open.get(fd)!), `the other end of its ${fd} (${open.get(fd)}) is runc exec's, its parent`);
  } finally {
    process.kill(execPid, 'SIGKILL');
    await exec;
  }
  await assertNothingBeyondStdio(context, 'box/c', pid!, 'box/c after two execs');
});

descriptors('a container restarted by corral restart: the new pid 1 has the same three, conmon keeps no lock', async (context) => {
  const before = await runningRow(context, 'box/c');
  const restart = await corralWithCallerDescriptor(context, ['-p', context.project, 'restart', 'box/c']);
  assert.is(restart.exitCode, 0, restart.stderr);
  const after = await eventually(async () => {
    const row = await runningRow(context, 'box/c');
    return row.state === 'running' && row.pid !== before.pid ? row : undefined;
  }, 'box/c running with a new pid');
  await assertNothingBeyondStdio(context, 'box/c', after.pid!, 'box/c restarted by corral restart');
});

descriptors('a container the supervisor restarts by its policy: the new pid 1 has the same three', async (context) => {
  const before = await runningRow(context, 'box/c');
  // Killed from inside: its trap exits 0, and `restart: always` brings it back.
  const kill = await corralWithCallerDescriptor(context, ['-p', context.project, 'exec', 'box/c', '--', 'kill', '1']);
  assert.is(kill.exitCode, 0, kill.stderr);
  const after = await eventually(async () => {
    const row = await runningRow(context, 'box/c');
    return row.state === 'running' && row.pid !== before.pid && row.restarts === before.restarts + 1 ? row : undefined;
  }, 'box/c restarted by the supervisor, and counted');
  assert.match(await readFile(projectFiles(context, 'box/c').supervisorLog, 'utf8'), /box\/c exited with code 0; restarting in/, 'the supervisor restarted it');
  await assertNothingBeyondStdio(context, 'box/c', after.pid!, 'box/c restarted by the supervisor');
});

descriptors.run();
