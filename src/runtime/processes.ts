import { readFile } from 'node:fs/promises';
import { whenMissing } from '../state/read.js';
import { containerCgroup } from '../state/paths.js';
import type { RuntimeContext } from './context.js';
import { procsFilesOf } from './cgroup-procs.js';

// `corral top`: the processes of a container, as `docker top` shows them (its `ps -ef`), read from the
// container's cgroup and /proc, so nothing runs inside the container (a paused one is listed too).

export interface ContainerProcess {
  readonly pid: number;
  readonly ppid: number;
  /** Real uid, as the host sees it (a user-namespaced container's root is a high host uid). */
  readonly uid: number;
  /** CPU time used, user and system, in seconds. */
  readonly cpuSeconds: number;
  /** Its state letter (R, S, D: frozen on v1, Z, ...). */
  readonly state: string;
  /** Its command line, or [name] for a kernel-style process without one. */
  readonly command: string;
}

/** Linux's USER_HZ, the unit of /proc/PID/stat's times: 100 on every architecture Corral runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** One process from the text of its /proc/PID/stat, status and cmdline; undefined when stat is not one. */
export function parseProcess(pid: number, stat: string, status: string, cmdline: string): ContainerProcess | undefined {
  // The name may hold spaces and parentheses: fields are counted after the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  if (open < 0 || close < 0 || fields.length < 13) return undefined;
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  const words = cmdline.split('\0').filter(Boolean);
  return {
    pid, ppid: Number(fields[1]), uid, state: fields[0]!,
    cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND,
    command: words.length > 0 ? words.join(' ') : `[${stat.slice(open + 1, close)}]`,
  };
}

/** The processes in the container's cgroup (none when it has none: exited, or its cgroup gone). */
export async function processesOfContainer(context: RuntimeContext, pod: string, container: string): Promise<ContainerProcess[]> {
  const [procs] = await procsFilesOf(containerCgroup(context.project, pod, container));
  if (!procs) return [];
  const pids = (await readFile(procs, 'utf8').catch(whenMissing(''))).split('\n').filter(Boolean).map(Number);
  const processes = await Promise.all(pids.map(async (pid) => {
    // A process that exits while it is read is simply not listed (ESRCH on a read of its files).
    const [stat, status, cmdline] = await Promise.all(['stat', 'status', 'cmdline'].map((file) => readFile(`/proc/${pid}/${file}`, 'utf8').catch(whenMissing('', ['ESRCH']))));
    return stat ? parseProcess(pid, stat!, status!, cmdline!) : undefined;
  }));
  return processes.filter((process): process is ContainerProcess => process !== undefined).sort((a, b) => a.pid - b.pid);
}
