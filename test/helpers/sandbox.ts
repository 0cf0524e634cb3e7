import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import * as assert from 'uvu/assert';
import { findLeaks } from './leaks.js';

// Each suite runs Corral in dirs of its own (CORRAL_RUN_DIR, CORRAL_STATE_DIR) and with project names
// of its own, so suites never see each other's containers and the leak check knows what to look for.

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const cliEntry = path.join(repositoryRoot, 'dist/bin/corral.js');

/** The busybox rootfs the tests run (built by scripts/test.sh; built here when missing). */
export async function testRootfs(): Promise<string> {
  const rootfs = process.env.CORRAL_TEST_ROOTFS ?? path.join(repositoryRoot, '.cache/rootfs/busybox');
  await execa('bash', [path.join(repositoryRoot, 'scripts/build-rootfs.sh'), rootfs]);
  return rootfs;
}

export interface Sandbox {
  readonly run: string;
  readonly state: string;
  /** A directory for the suite's project files. */
  readonly work: string;
  readonly env: Record<string, string>;
  /** A project name unique to this suite and process. */
  projectName(label: string): string;
  dispose(): Promise<void>;
}

/** Fresh run, state and work dirs for one suite. */
export async function createSandbox(label: string): Promise<Sandbox> {
  await mkdir('/run', { recursive: true });
  const run = await mkdtemp(`/run/corral-test-${label}-`);
  const state = await mkdtemp(`/var/tmp/corral-test-${label}-`);
  const work = await mkdtemp(`/tmp/corral-test-${label}-`);
  const rootfs = await testRootfs();
  const env = { CORRAL_RUN_DIR: run, CORRAL_STATE_DIR: state, CORRAL_ROOTFS: rootfs };
  return {
    run, state, work, env,
    projectName: (name: string) => `t${process.pid}-${label}-${name}`.toLowerCase(),
    async dispose() {
      for (const dir of [run, state, work]) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What most suites start with: a sandbox, a project name in it, and where its project file goes. */
export interface ProjectSandbox {
  readonly sandbox: Sandbox;
  readonly project: string;
  /** `corral.yaml` in the sandbox's work dir, written by the suite. */
  readonly file: string;
  /** The busybox rootfs the containers run. */
  readonly rootfs: string;
}

export async function createProjectSandbox(label: string, name = label): Promise<ProjectSandbox> {
  const sandbox = await createSandbox(label);
  return { sandbox, project: sandbox.projectName(name), file: path.join(sandbox.work, 'corral.yaml'), rootfs: sandbox.env.CORRAL_ROOTFS! };
}

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `corral` CLI with the sandbox's dirs (and `env` on top); never throws on a non-zero exit. */
export async function corral(sandbox: Sandbox, args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [cliEntry, ...args], {
    cwd: options.cwd ?? sandbox.work,
    env: { ...sandbox.env, ...options.env },
    reject: false,
    // No stdin (end of file at once), unless the test types something.
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A TCP port that is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The host's own address on its default route (a route lookup: no packet is sent). */
export async function hostAddress(): Promise<string> {
  const route = await execa('ip', ['-o', '-4', 'route', 'get', '1.1.1.1']);
  const address = / src (\d+\.\d+\.\d+\.\d+)/.exec(String(route.stdout))?.[1];
  assert.ok(address, `the host has an address on its default route: ${route.stdout}`);
  return address;
}

/** A TCP listener on the host's own address that answers `hello-from-host` and counts who came. */
export interface HostListener {
  readonly address: string;
  readonly port: number;
  /** The remote address of each connection, in order. */
  readonly seen: readonly string[];
  close(): Promise<void>;
}

/** The "outside" of a pod's traffic in tests: the host itself, never another machine. */
export async function listenOnHostAddress(): Promise<HostListener> {
  const address = await hostAddress();
  const seen: string[] = [];
  const listener: Server = createServer((socket) => {
    seen.push(String(socket.remoteAddress));
    socket.end('hello-from-host\n');
  });
  await new Promise<void>((resolve) => listener.listen(0, address, resolve));
  const { port } = listener.address() as { port: number };
  return { address, port, seen, close: () => new Promise((resolve) => listener.close(() => resolve())) };
}

/** Runs a shell script inside a running container (`pod.container` of the project), bounded in time. */
export function inside(sandbox: Sandbox, project: string, podAndContainer: string, script: string, timeoutMs = 20_000) {
  return execa('runc', ['--root', path.join(sandbox.run, project, 'runc'), 'exec', `${project}.${podAndContainer}`, 'sh', '-c', script], { reject: false, timeout: timeoutMs });
}

/** Polls `probe` until it returns a value or the deadline passes; bounded in count and time. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A suite's last word: `down` its projects, check that nothing is left behind, remove its dirs. */
export async function downAndAssertNothingLeaks(sandbox: Sandbox, project: string, ...others: string[]): Promise<void> {
  for (const name of [project, ...others]) await corral(sandbox, ['-p', name, 'down']);
  const leaks = await findLeaks({ dirs: [sandbox.run, sandbox.state], projects: [project, ...others] });
  await sandbox.dispose();
  assert.equal(leaks, [], `the suite leaves nothing behind, but left: ${leaks.join('; ')}`);
}
