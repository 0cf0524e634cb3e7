import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from '../native.js';

// A pod that shares its PID namespace needs a process to hold it: a PID namespace dies with its
// first process, so it cannot be pinned by a bind mount like net, ipc and uts. The holder is
// catatonit in pause mode (it reaps the orphans re-parented to it), started by `unshare --pid
// --fork` in a cgroup under the pod's, so that the pod's teardown kills it with everything else.

const HOLDER_CGROUP = '.pidns';

/** The cgroup.procs files of a cgroup in every hierarchy it exists in. */
async function procsFilesOf(relPath: string): Promise<string[]> {
  if (native.cgroupVersion() === 2) return [`/sys/fs/cgroup/${relPath}/cgroup.procs`];
  const hierarchies = await readdir('/sys/fs/cgroup');
  return hierarchies.map((name) => `/sys/fs/cgroup/${name}/${relPath}`).filter((dir) => existsSync(dir)).map((dir) => `${dir}/cgroup.procs`);
}

async function namespaceOf(pid: number | 'self'): Promise<string | undefined> {
  return readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);
}

/** The holder's pid from its file when it still holds a PID namespace of its own. */
export async function livePidHolder(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return undefined;
  const [own, held] = await Promise.all([namespaceOf('self'), namespaceOf(pid)]);
  return held && held !== own ? pid : undefined;
}

/** Starts a holder for the pod (unless one lives) and records its pid in `file`; its /proc/PID/ns/pid is the pod's. */
export async function ensurePidHolder(options: { file: string; podCgroup: string }): Promise<number> {
  const running = await livePidHolder(options.file);
  if (running) return running;
  const cgroup = `${options.podCgroup}/${HOLDER_CGROUP}`;
  await native.createCgroup(cgroup);
  // The shell moves itself into the cgroup before it becomes unshare, so no child escapes it.
  const script = 'for f; do echo $$ > "$f" || exit 1; done; exec unshare --pid --fork --kill-child catatonit -P';
  const procsFiles = await procsFilesOf(cgroup);
  // The holder lives as long as the pod, and is pid 1 of its containers: it gets nothing this process inherited.
  native.markInheritedDescriptorsCloseOnExec();
  const child = spawn('sh', ['-c', script, 'sh', ...procsFiles], { detached: true, stdio: 'ignore' });
  child.unref();
  const own = await namespaceOf('self');
  for (let attempt = 0; attempt < 200; attempt++) {
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    const holder = Number(children.trim().split(/\s+/)[0]);
    if (holder > 0 && (await namespaceOf(holder)) !== own) {
      await writeFile(options.file, `${holder}\n`, { mode: 0o600 });
      return holder;
    }
    if (child.exitCode !== null) break;
    await sleep(10);
  }
  throw new Error('the PID namespace holder (unshare --pid --fork catatonit -P) did not start; is catatonit installed?');
}
