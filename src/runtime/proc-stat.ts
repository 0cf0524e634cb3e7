import { readFileSync } from 'node:fs';
import { RuntimeError } from './errors.js';

// /proc/PID/stat, read where Corral must know whether a process it recorded is still the one it was:
// its name (a pid may be reused by anything), its state letter (a zombie is gone), whether it is
// exiting, and its start time.
// Read synchronously: a small procfs file, read for every container of a listing.

export interface ProcStat {
  /** The command name (field 2), without its parentheses. */
  readonly name: string;
  /** R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  /** Start time in clock ticks since boot (field 22), as written. */
  readonly start: string;
  /**
   * PF_EXITING in its flags (field 9): it is on its way out but not a zombie yet. A container's first
   * process stays so while the kernel kills the rest of its pid namespace, which can take a while.
   */
  readonly exiting: boolean;
}

const PF_EXITING = 0x4;

/** What reading the stat of a process that is gone fails with: none yet (ENOENT), or it ended while read (ESRCH). */
const GONE = new Set(['ENOENT', 'ESRCH']);

/** The process's stat, or undefined when there is no such process. */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!(pid > 0)) return undefined;
  const file = `/proc/${pid}/stat`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (GONE.has(code)) return undefined;
    throw new RuntimeError({
      resource: `pid ${pid}`, step: `read ${file}`, message: `${(error as Error).message}`, cause: error,
      hint: code === 'EACCES' || code === 'EPERM' ? 'run corral as root; /proc must not be mounted with hidepid for it' : 'check that /proc is mounted (mount -t proc proc /proc)',
    });
  }
  // The name may hold spaces and parentheses: fields are counted after the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  if (open < 0 || close < 0 || fields.length <= 19) return undefined;
  return { name: text.slice(open + 1, close), state: fields[0]!, start: fields[19]!, exiting: (Number(fields[6]) & PF_EXITING) !== 0 };
}

/** Whether the process runs: there, and neither a zombie (exited, not reaped yet: init may be slow) nor dead. */
export function processRuns(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}
