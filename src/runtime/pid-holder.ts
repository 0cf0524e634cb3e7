import { spawn } from 'node:child_process';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from '../native.js';
import { procsFilesOf } from './cgroup-procs.js';
import { readProcStat } from './proc-stat.js';

// A pod that shares its PID namespace needs a process to hold it: a PID namespace dies with its
// first process, so it cannot be pinned by a bind mount like net, ipc and uts. The holder is
// catatonit in pause mode (it reaps the orphans re-parented to it), started by `unshare --pid
// --fork` in a cgroup under the pod's, so that the pod's teardown kills it with everything else.

const HOLDER_CGROUP = '.pidns';

/**
 * How long the holder may take to start, as looks and the time between them (2 s in all): sh, unshare
 * and catatonit start in a few ms; a loaded host (100 pods starting) takes longer, rarely a second.
 */
const HOLDER_START_LOOKS = 200;
const HOLDER_LOOK_MS = 10;

/** What reading a /proc entry of a process that is gone fails with: none (ENOENT), or it ended meanwhile (ESRCH). */
const PROCESS_GONE = new Set(['ENOENT', 'ESRCH']);

/** `fallback` when the error says the file or process is not there, else the error. */
function ifGone<T>(codes: ReadonlySet<string>, fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (codes.has(error.code ?? '')) return fallback;
    throw error;
  };
}

async function namespaceOf(pid: number | 'self'): Promise<string | undefined> {
  return readlink(`/proc/${pid}/ns/pid`).catch(ifGone(PROCESS_GONE, undefined));
}

/** The holder's pid from its file when it still holds a PID namespace of its own. */
export async function livePidHolder(file: string): Promise<number | undefined> {
  // No file: no holder was started for the pod yet.
  const pid = Number((await readFile(file, 'utf8').catch(ifGone(new Set(['ENOENT']), ''))).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = readProcStat(pid);
  if (!stat || stat.state === 'Z') return undefined;
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
  for (let attempt = 0; attempt < HOLDER_START_LOOKS; attempt++) {
    // The shell may have exited already (then the loop ends below).
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(ifGone(PROCESS_GONE, ''));
    const holder = Number(children.trim().split(/\s+/)[0]);
    if (holder > 0 && (await namespaceOf(holder)) !== own) {
      await writeFile(options.file, `${holder}\n`, { mode: 0o600 });
      return holder;
    }
    if (child.exitCode !== null) break;
    await sleep(HOLDER_LOOK_MS);
  }
  throw new Error('the PID namespace holder (unshare --pid --fork catatonit -P) did not start; is catatonit installed?');
}
