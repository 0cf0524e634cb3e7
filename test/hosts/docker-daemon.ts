import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { eventually } from '../helpers/sandbox.js';

// A Docker daemon beside Corral, as Debian's docker.io runs it: one of the test's own, started with
// its own data root, exec root, pid file and socket under a temp dir, and stopped and cleaned away
// afterwards, including what Docker leaves behind by design (docker0, its iptables chains and the
// jumps to them), so that later suites find the host as it was. Where the host's own Docker already
// runs (the package's service starts it on a systemd host), that one is used and left running: a
// second daemon would fight it over docker0 and its chains.

/** How long dockerd may take to answer on its socket (it starts its own containerd first). */
const DOCKERD_READY_MS = 60_000;
/** How long dockerd may take to stop on SIGTERM before it is killed. */
const DOCKERD_STOP_MS = 20_000;
const PING_TIMEOUT_MS = 2_000;
/** Where the docker.io service listens. */
const SYSTEM_DOCKER_SOCKET = '/var/run/docker.sock';

/** What the test changes about the host's forwarding, to put back after. */
interface ForwardingSettings {
  readonly forwardPolicy: string;
  readonly sysctls: ReadonlyMap<string, string>;
}

/** Kernel settings that dockerd turns on (br_netfilter's, forwarding), restored as they were. */
const DOCKER_SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables', '/proc/sys/net/bridge/bridge-nf-call-ip6tables'];

export interface DockerDaemon {
  readonly socket: string;
  /** Whether the test started it (else it is the host's own, and stays). */
  readonly own: boolean;
  /** Stops dockerd (bounded) when the test started it, and puts back what it and the test changed on the host; safe to repeat. */
  stopAndClean(): Promise<void>;
}

/** Docker's part of the host's firewall and links: what Corral must leave exactly as it is. */
export interface DockerState {
  /** Docker's chains and the rules that are Docker's (they name a DOCKER chain or docker0), per table. */
  readonly filter: readonly string[];
  readonly nat: readonly string[];
  /** The FORWARD policy (`-P FORWARD DROP`). */
  readonly forwardPolicy: string;
  /** `ip -o link show docker0` and its addresses. */
  readonly link: string;
  readonly addresses: string;
}

const isDockers = (line: string) => /^:DOCKER[\w-]*\s/.test(line) || (line.startsWith('-A ') && /DOCKER|docker0/.test(line));

async function dockerRulesOf(table: 'filter' | 'nat'): Promise<string[]> {
  const saved = await execa('iptables-save', ['-t', table]);
  // Counters of chains change with traffic; the chain itself is what counts.
  return String(saved.stdout).split('\n').filter(isDockers).map((line) => line.replace(/ \[\d+:\d+\]$/, ''));
}

export async function forwardPolicy(): Promise<string> {
  const listed = await execa('iptables', ['-w', '-S', 'FORWARD']);
  return String(listed.stdout).split('\n')[0]!;
}

/**
 * Docker's state. With iptables-nft (Debian's default) iptables-save reads the same nf_tables
 * tables that `nft list ruleset` shows, and Docker 20.10 writes its rules only through iptables, so
 * this is all of Docker's firewall.
 */
export async function dockerState(): Promise<DockerState> {
  const [filter, nat, policy, link, addresses] = await Promise.all([
    dockerRulesOf('filter'), dockerRulesOf('nat'), forwardPolicy(),
    execa('ip', ['-o', 'link', 'show', 'docker0'], { reject: false }), execa('ip', ['-o', 'addr', 'show', 'dev', 'docker0'], { reject: false }),
  ]);
  return { filter, nat, forwardPolicy: policy, link: String(link.stdout), addresses: String(addresses.stdout) };
}

/** The dockerd binary, or an error that says how to get it (CI installs docker.io). */
async function dockerdBinary(): Promise<string> {
  const found = await execa('sh', ['-c', 'command -v dockerd'], { reject: false });
  if (found.exitCode !== 0) {
    throw new Error('dockerd is not installed: this suite runs Docker beside Corral; install Debian\'s docker.io (`apt-get install docker.io`, as .ci/run and scripts/bootstrap.sh do)');
  }
  return String(found.stdout).trim();
}

/** Refuses a host where a Docker that does not answer left docker0 and its chains: the cleanup would remove them. */
async function assertNoDockerYet(): Promise<void> {
  const state = await dockerState();
  if (state.link || state.filter.length > 0 || state.nat.length > 0) {
    throw new Error(`a Docker that does not answer on ${SYSTEM_DOCKER_SOCKET} left its state on this host (${state.link ? 'docker0, ' : ''}${[...state.filter, ...state.nat].length} Docker iptables lines); this suite starts and removes a Docker of its own: start that Docker (the suite then uses it), or remove docker0 and its DOCKER chains`);
  }
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const call = request({ socketPath: socket, path: '/_ping', timeout: PING_TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    call.on('timeout', () => call.destroy());
    call.on('error', () => resolve(false));
    call.end();
  });
}

async function readSettings(): Promise<ForwardingSettings> {
  const sysctls = new Map<string, string>();
  for (const file of DOCKER_SYSCTLS.filter((name) => existsSync(name))) sysctls.set(file, (await readFile(file, 'utf8')).trim());
  return { forwardPolicy: await forwardPolicy(), sysctls };
}

/** Removes Docker's rules from the built-in chains, then its chains, in one iptables-restore per table. */
async function removeDockerRules(): Promise<void> {
  for (const table of ['filter', 'nat'] as const) {
    const lines = await dockerRulesOf(table);
    const chains = lines.filter((line) => line.startsWith(':')).map((line) => line.slice(1).split(' ')[0]!);
    // Rules in Docker's own chains go with the chains (flushed); rules in built-in chains one by one.
    const rules = lines.filter((line) => line.startsWith('-A ') && !chains.includes(line.split(' ')[1]!));
    if (rules.length === 0 && chains.length === 0) continue;
    const script = [`*${table}`, ...rules.map((rule) => rule.replace(/^-A /, '-D ')), ...chains.map((chain) => `-F ${chain}`), ...chains.map((chain) => `-X ${chain}`), 'COMMIT', ''].join('\n');
    const restored = await execa('iptables-restore', ['--noflush', '--wait'], { input: script, reject: false });
    if (restored.exitCode !== 0) throw new Error(`could not remove Docker's iptables rules of table ${table}: ${restored.stderr}; remove them by hand (iptables-save -t ${table} | grep -i docker)`);
  }
}

async function allSteps(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new Error(`cleaning up after dockerd failed ${failures.length} time(s); the first: ${String(failures[0])}`, { cause: failures[0] });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Kills the containerd that dockerd started, when dockerd itself had to be killed and left it. */
async function killManagedContainerd(execRoot: string): Promise<void> {
  const pid = Number(await readFile(path.join(execRoot, 'containerd/containerd.pid'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    return '0';
  }));
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

async function putBack(settings: ForwardingSettings): Promise<void> {
  await execa('iptables', ['-w', ...settings.forwardPolicy.split(' ')]);
  for (const [file, value] of settings.sysctls) await writeFile(file, `${value}\n`);
}

/** The host's own running Docker, kept as it is; only the FORWARD policy is set, and put back after. */
async function hostsDocker(): Promise<DockerDaemon> {
  const settings = await readSettings();
  await execa('iptables', ['-w', '-P', 'FORWARD', 'DROP']);
  let restored = false;
  return {
    socket: SYSTEM_DOCKER_SOCKET,
    own: false,
    async stopAndClean() {
      if (restored) return;
      restored = true;
      await putBack(settings);
    },
  };
}

/**
 * A Docker beside Corral with the FORWARD policy DROP, as Docker sets it when it is the one that
 * turns forwarding on: the host's own when it runs, else dockerd started with everything of its own
 * under a temp dir, once it answers on its socket and docker0 exists (both waits bounded).
 */
export async function dockerBeside(): Promise<DockerDaemon> {
  const binary = await dockerdBinary();
  if (existsSync(SYSTEM_DOCKER_SOCKET) && await ping(SYSTEM_DOCKER_SOCKET)) return hostsDocker();
  await assertNoDockerYet();
  const settings = await readSettings();
  const dir = await mkdtemp('/tmp/corral-test-dockerd-');
  const socket = path.join(dir, 'docker.sock');
  const log = path.join(dir, 'dockerd.log');
  const execRoot = path.join(dir, 'exec');
  const logFd = openSync(log, 'a');
  const child = spawn(binary, ['--data-root', path.join(dir, 'data'), '--exec-root', execRoot, '--pidfile', path.join(dir, 'docker.pid'), '--host', `unix://${socket}`], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let cleaned = false;
  const daemon: DockerDaemon = {
    socket,
    own: true,
    async stopAndClean() {
      if (cleaned) return;
      cleaned = true;
      child.kill('SIGTERM');
      if (!(await exited(child, DOCKERD_STOP_MS))) {
        child.kill('SIGKILL');
        await exited(child, DOCKERD_STOP_MS);
        await killManagedContainerd(execRoot);
      }
      // Every step is tried, so that one failing leaves as little as possible; the first failure is thrown.
      await allSteps([
        async () => {
          if (existsSync('/sys/class/net/docker0')) await execa('ip', ['link', 'del', 'docker0']);
        },
        removeDockerRules,
        () => putBack(settings),
        () => rm(dir, { recursive: true, force: true }),
      ]);
    },
  };
  try {
    await eventually(async () => (child.exitCode === null ? ((await ping(socket)) || undefined) : Promise.reject(new Error(`dockerd exited with ${child.exitCode}`))), `dockerd to answer on ${socket}`, DOCKERD_READY_MS);
    await eventually(async () => existsSync('/sys/class/net/docker0') || undefined, 'docker0 to exist', DOCKERD_READY_MS);
    await execa('iptables', ['-w', '-P', 'FORWARD', 'DROP']);
  } catch (error) {
    const tail = (await readFile(log, 'utf8')).split('\n').slice(-20).join('\n');
    await daemon.stopAndClean();
    throw new Error(`dockerd did not start: ${(error as Error).message}; the end of its log:\n${tail}`, { cause: error });
  }
  return daemon;
}
