import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as native from '../native.js';

// Putting a process into a cgroup of Corral's, for the processes that Corral starts itself and that
// runc does not place (the PID namespace holder, the containers' monitors): a write of its pid to
// cgroup.procs in every hierarchy the cgroup exists in.

/** The cgroup.procs files of a cgroup (relative to each hierarchy's root) in every hierarchy it exists in. */
export async function procsFilesOf(relPath: string): Promise<string[]> {
  if (native.cgroupVersion() === 2) return [`/sys/fs/cgroup/${relPath}/cgroup.procs`];
  const hierarchies = await readdir('/sys/fs/cgroup');
  return hierarchies.map((name) => `/sys/fs/cgroup/${name}/${relPath}`).filter((dir) => existsSync(dir)).map((dir) => `${dir}/cgroup.procs`);
}
