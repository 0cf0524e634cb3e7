import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { bridgeNameFor } from '../../src/network/project-network.js';
import { CLAIMS_DIR } from '../../src/network/subnet.js';
import type { Sandbox } from '../helpers/sandbox.js';

// What a reboot does to one project, done by hand and nothing more: every process of it dies at once
// (containers, conmons, the supervisor: SIGKILL, no chance to clean up), and everything that lives in
// memory is gone (mounts and pinned namespaces, the run dir on its tmpfs, cgroups, the bridge and the
// subnet claims under /run). The state dir on disk stays as it was.

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The project's cgroup dirs in every hierarchy (v1 hybrid or v2), deepest first. */
async function projectCgroups(project: string): Promise<string[]> {
  const v2 = existsSync(`${CGROUP_ROOT}/cgroup.controllers`);
  const roots = v2 ? [CGROUP_ROOT] : (await readdir(CGROUP_ROOT)).map((name) => `${CGROUP_ROOT}/${name}`);
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (!existsSync(dir)) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await walk(path.join(dir, entry.name));
    found.push(dir);
  };
  for (const root of roots) await walk(`${root}/corral/${project}`);
  return found;
}

async function pidsIn(cgroups: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cgroups) {
    const text = await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids];
}

/** Mount points under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point === dir || point.startsWith(`${dir}/`));
  return points.reverse();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Simulates a reboot of the host for one project of the sandbox; returns what it destroyed, for the report. */
export async function rebootProject(sandbox: Sandbox, project: string): Promise<string[]> {
  const done: string[] = [];
  const run = path.join(sandbox.run, project);
  const cgroups = await projectCgroups(project);

  // 1. Every process dies at once: the supervisor, the conmons, the containers' processes.
  const supervisors = String((await execa('pgrep', ['-f', `supervise -p ${project}$`], { reject: false })).stdout).split('\n').filter(Boolean).map(Number);
  const conmons = String((await execa('pgrep', ['-f', `conmon .* -b ${run}/containers/`], { reject: false })).stdout).split('\n').filter(Boolean).map(Number);
  const contained = await pidsIn(cgroups);
  for (const pid of [...supervisors, ...conmons, ...contained]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  done.push(`killed ${supervisors.length} supervisor, ${conmons.length} conmon and ${contained.length} container processes`);
  for (let attempt = 0; attempt < 100 && (await pidsIn(cgroups)).length > 0; attempt++) await sleep(20);

  // 2. Memory is gone: mounts (overlays, /dev/shm, pinned namespaces), the run dir, cgroups.
  const mounts = await mountsUnder(run);
  for (const point of mounts) await execa('umount', ['-l', point]);
  const left = await mountsUnder(run);
  if (left.length > 0) throw new Error(`cannot simulate the reboot: still mounted: ${left.join(', ')}`);
  await rm(run, { recursive: true, force: true });
  done.push(`unmounted ${mounts.length} mounts, removed ${run}`);
  for (const dir of cgroups) await rmdir(dir);
  done.push(`removed ${cgroups.length} cgroup dirs`);

  // 3. The network: the bridge, and the subnet claims (kept in /run) of this sandbox.
  const bridge = bridgeNameFor(run);
  if ((await execa('ip', ['link', 'del', bridge], { reject: false })).exitCode === 0) done.push(`deleted bridge ${bridge}`);
  for (const claim of await readdir(CLAIMS_DIR).catch(() => [] as string[])) {
    const owner = await readFile(path.join(CLAIMS_DIR, claim), 'utf8').catch(() => '');
    if (owner.startsWith(`${run}/`) || owner.trim() === run) {
      await rm(path.join(CLAIMS_DIR, claim), { force: true });
      done.push(`removed subnet claim ${claim}`);
    }
  }
  return done;
}
