import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execa } from 'execa';

// Nothing leaks: after a suite, no mount under its dirs (overlays, tmpfs, pinned namespaces), no
// cgroup of its projects in any hierarchy, no runc state, no conmon or supervisor process of its own.

export interface LeakScope {
  readonly dirs: readonly string[];
  readonly projects: readonly string[];
  /** The runc roots the suite used (run dir + project + /runc). */
  readonly runcRoots?: readonly string[];
}

async function mountsUnder(dirs: readonly string[]): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => dirs.some((dir) => point === dir || point.startsWith(`${dir}/`)));
}

async function cgroupsOf(projects: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  const hierarchies = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : hierarchies.map((name) => `/sys/fs/cgroup/${name}`);
  for (const root of roots) {
    for (const project of projects) {
      if (existsSync(`${root}/corral/${project}`)) left.push(`${root}/corral/${project}`);
    }
  }
  return left;
}

async function conmonsUnder(dirs: readonly string[]): Promise<string[]> {
  const result = await execa('pgrep', ['-a', 'conmon'], { reject: false });
  return String(result.stdout).split('\n').filter((line) => line && dirs.some((dir) => line.includes(dir)));
}

/** Supervisor processes (`corral supervise -p NAME`) of the projects. */
async function supervisorsOf(projects: readonly string[]): Promise<string[]> {
  const result = await execa('pgrep', ['-af', 'main.js supervise'], { reject: false });
  return String(result.stdout).split('\n').filter((line) => line && projects.some((project) => line.endsWith(` ${project}`)));
}

async function runcStates(roots: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const root of roots) {
    const entries = await readdir(root).catch(() => [] as string[]);
    left.push(...entries.map((entry) => `${root}/${entry}`));
  }
  return left;
}

/** Everything the scope left behind, as readable lines; empty when clean. */
export async function findLeaks(scope: LeakScope): Promise<string[]> {
  return [
    ...(await mountsUnder(scope.dirs)).map((point) => `mount ${point}`),
    ...(await cgroupsOf(scope.projects)).map((dir) => `cgroup ${dir}`),
    ...(await conmonsUnder(scope.dirs)).map((line) => `conmon ${line}`),
    ...(await supervisorsOf(scope.projects)).map((line) => `supervisor ${line}`),
    ...(await runcStates([...(scope.runcRoots ?? []), ...scope.dirs.flatMap((dir) => scope.projects.map((project) => `${dir}/${project}/runc`))])).map((dir) => `runc state ${dir}`),
  ];
}
