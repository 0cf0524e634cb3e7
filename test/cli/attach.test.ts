import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSetUp, type SetupState, visibleSetup } from '../helpers/visible-setup.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type ProjectSandbox } from '../helpers/sandbox.js';
import { corralInTerminal } from '../helpers/terminal.js';
import { execa } from 'execa';

// A container's stdin and terminal, as a user of docker compose reaches them: `run` passes stdin on
// and, at a terminal, gives the container one of the terminal's size; `attach` joins a running
// container's stdio (its output from now, its stdin if it keeps one open, ctrl-p ctrl-q to leave it
// running, signals passed on without a terminal); `tty: true` with `stdin_open: true` keeps a shell
// running as in compose. Real terminals come from util-linux's `script`.

interface Row { pod: string; container: string; state: string; exitCode: number | null }
type Context = ProjectSandbox & SetupState;

const attaching = suite<Context>('stdin, terminals and attach');

function projectFile(rootfs: string): string {
  return `
pods:
  shell:
    containers:
      sh:
        rootfs: ${rootfs}
        command: ["sh"]
        tty: true
        stdin_open: true
  reader:
    containers:
      cat:
        rootfs: ${rootfs}
        command: ["sh", "-c", "echo ready; while read line; do echo \\"read: $$line\\"; done; echo 'stdin ended'"]
        stdin_open: true
  counter:
    containers:
      count:
        rootfs: ${rootfs}
        command: ["sh", "-c", "trap 'echo caught INT; exit 5' INT; i=0; while true; do i=$$((i+1)); echo \\"count $$i\\"; sleep 0.2; done"]
  box:
    containers:
      sh:
        rootfs: ${rootfs}
        command: ["sleep", "1000"]
`;
}

attaching.before(visibleSetup(async (context) => {
  Object.assign(context, await createProjectSandbox('attach'));
  await writeFile(context.file, projectFile(context.rootfs));
  const up = await cli(context, ['up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stderr}`);
}));

attaching.after(async (context) => {
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

const cli = (context: Context, args: readonly string[], input?: string) => corral(context.sandbox, ['-f', context.file, '-p', context.project, ...args], input === undefined ? {} : { input });
const inTerminal = (context: Context, args: readonly string[]) => corralInTerminal(context.sandbox, ['-f', context.file, '-p', context.project, ...args]);

async function rows(context: Context): Promise<Row[]> {
  const result = await cli(context, ['ps', '--format', 'json']);
  assert.is(result.exitCode, 0, `ps: ${result.stderr}`);
  return JSON.parse(result.stdout) as Row[];
}

/** `running`, or `exited (CODE)`. */
async function stateOf(context: Context, pod: string): Promise<string | undefined> {
  const row = (await rows(context)).find((one) => one.pod === pod);
  return row && (row.state === 'exited' ? `exited (${row.exitCode})` : row.state);
}

attaching('run passes piped stdin to the command, keeps stdout and stderr apart, and exits with its code', async (context) => {
  assertSetUp(context);
  const result = await cli(context, ['run', '--rm', 'box', 'sh', '-c', 'read first; read second; echo "got $first and $second"; echo to-stderr >&2; exit 3'], 'one\ntwo\n');
  assert.is(result.exitCode, 3, result.stderr);
  assert.is(result.stdout, 'got one and two');
  assert.match(result.stderr, /^to-stderr$/m);
  assert.not.match(result.stdout, /to-stderr/);
  // A command that reads to the end sees the end of our input: cat ends by itself.
  const cat = await cli(context, ['run', '--rm', 'box', 'cat'], 'all of it\n');
  assert.is(cat.exitCode, 0, cat.stderr);
  assert.is(cat.stdout, 'all of it');
  assert.not.ok((await rows(context)).some((row) => row.pod.startsWith('box-run-')), 'nothing of the --rm one-offs is left');
});

attaching('run at a terminal gives the container a terminal of the same size; its exit code is ours', async (context) => {
  assertSetUp(context);
  const terminal = inTerminal(context, ['run', '--rm', 'box', 'sh']);
  await terminal.waitFor(/# /, 'the shell prompt of the container');
  terminal.type('tty; stty size; echo "sum=$((40+2))"; exit 7\r');
  await terminal.waitFor(/sum=42/, 'the output of what was typed');
  assert.is(await terminal.exited, 7, terminal.shown());
  assert.match(terminal.shown(), /\/dev\/pts\/\d+/, 'tty names a pseudo-terminal');
  assert.match(terminal.shown(), /^33 91\r?\r?$/m, 'the container\'s terminal has the size of ours');
});

attaching('run -T at a terminal gives the container no terminal', async (context) => {
  assertSetUp(context);
  const terminal = inTerminal(context, ['run', '--rm', '-T', 'box', 'sh', '-c', 'tty; exit 0']);
  // tty(1) says so (and fails); the shell's own exit 0 is ours.
  assert.is(await terminal.exited, 0, terminal.shown());
  assert.match(terminal.shown(), /not a tty/);
});

attaching('tty and stdin_open keep a shell running, as compose does; attach reaches it and ctrl-p ctrl-q leaves it running', async (context) => {
  assertSetUp(context);
  // Without stdin_open, sh reads end of file and exits at once (box's sleep is the control: running).
  await eventually(async () => ((await stateOf(context, 'shell')) === 'running' ? true : undefined), 'the shell pod running');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.is(await stateOf(context, 'shell'), 'running', 'a shell with a terminal and open stdin is still running a second later');
  const terminal = inTerminal(context, ['attach', 'shell']);
  // Attach shows what comes from now on; typing a newline gets a fresh prompt.
  terminal.type('\r');
  await terminal.waitFor(/# /, 'a prompt after a newline');
  terminal.type('echo "attached=$((6*7))"\r');
  await terminal.waitFor(/attached=42/, 'the output of the typed command');
  terminal.type('\x10\x11');
  assert.is(await terminal.exited, 0, terminal.shown());
  assert.match(terminal.shown(), /detached from shell\/sh/);
  assert.is(await stateOf(context, 'shell'), 'running', 'the detach keys leave the container running');
});

attaching('attach without a terminal: our stdin is its stdin, and our end of input ends its stdin', async (context) => {
  assertSetUp(context);
  const result = await cli(context, ['attach', 'reader'], 'first line\nsecond line\n');
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /read: first line\nread: second line\nstdin ended/);
  assert.not.match(result.stdout, /ready/, 'what it wrote before attach is not repeated (it is in logs)');
  assert.is(await stateOf(context, 'reader'), 'exited (0)');
});

attaching('attach passes a signal on to the container without a terminal, and exits with its code', async (context) => {
  assertSetUp(context);
  const attach = execa(process.execPath, [path.join(process.cwd(), 'dist/bin/corral.js'), '-f', context.file, '-p', context.project, 'attach', 'counter'],
    { cwd: context.sandbox.work, env: context.sandbox.env, reject: false, stdin: 'ignore', timeout: 60_000 });
  let seen = '';
  attach.stdout!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  await eventually(async () => (/count \d+\n.*count \d+/s.test(seen) ? true : undefined), 'two counts through attach');
  attach.kill('SIGINT');
  const result = await attach;
  assert.is(result.exitCode, 5, `${result.stderr}\n${seen}`);
  assert.match(seen, /caught INT/);
  assert.not.match(seen, /^count 1$/m, 'attach shows what comes from now on, not the start');
  assert.is(await stateOf(context, 'counter'), 'exited (5)');
});

attaching('a restarted container keeps its terminal and open stdin (conmon is launched again from its spec)', async (context) => {
  assertSetUp(context);
  const restart = await cli(context, ['restart', 'shell']);
  assert.is(restart.exitCode, 0, restart.stderr);
  await eventually(async () => ((await stateOf(context, 'shell')) === 'running' ? true : undefined), 'the shell running again');
  const terminal = inTerminal(context, ['attach', 'shell']);
  terminal.type('\r');
  await terminal.waitFor(/# /, 'a prompt after a newline');
  terminal.type('tty\r');
  await terminal.waitFor(/\/dev\/pts\/\d+/, 'the restarted shell still has a terminal');
  terminal.type('exit 4\r');
  assert.is(await terminal.exited, 4, terminal.shown());
  assert.is(await stateOf(context, 'shell'), 'exited (4)');
});

attaching('attach to a container that is not running says so and how to start it', async (context) => {
  assertSetUp(context);
  const result = await cli(context, ['attach', 'reader']);
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /reader is exited.*corral start reader/s);
});

attaching.run();
