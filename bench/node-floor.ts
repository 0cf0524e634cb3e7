import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { summarise, type Figure } from './stats.js';

// The floor of any Node command line: a bare `node -e 0`, and the resident memory of a bare Node
// process that waits. A read-only command and the supervisor are reported as ratios to these, taken
// in the same run and, for times, pair by pair (node, command, node, command ...), so that the ratio
// holds when a shared machine's speed drifts during the run.

/** How long a process is left running before its peak RSS is read: the supervisor's first passes are over by then. */
export const SETTLE_BEFORE_RSS_MS = 5000;

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A command's time, a bare Node start's, and the command's time over the Node start's, pair by pair. */
export interface PairedFigure {
  readonly command: Figure;
  readonly nodeStart: Figure;
  /** The median, min and max of the ratios of the pairs. */
  readonly ratio: Figure;
}

/** `runs` pairs of a bare Node start and `work`, one after the other. */
export async function pairedWithNodeStart(runs: number, work: (run: number) => Promise<unknown>): Promise<PairedFigure> {
  const command: number[] = [];
  const nodeStart: number[] = [];
  for (let run = 0; run < runs; run++) {
    nodeStart.push(await seconds(() => execa(process.execPath, ['-e', '0'], { stdin: 'ignore' })));
    command.push(await seconds(() => work(run)));
  }
  return { command: summarise(command), nodeStart: summarise(nodeStart), ratio: summarise(command.map((time, run) => time / nodeStart[run]!)) };
}

/** The peak RSS (VmHWM) of a running process, in MB; undefined when it is gone. */
export async function peakRssOf(pid: number): Promise<number | undefined> {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The peak RSS of a bare Node process that waits (a timer keeps it alive), read after the same settling time as the supervisor's. */
export async function idleNodeRss(): Promise<number> {
  const idle = execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdin: 'ignore', reject: false });
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_BEFORE_RSS_MS));
    const rss = await peakRssOf(idle.pid!);
    if (rss === undefined) throw new Error(`the idle Node process (pid ${idle.pid}) exited before its RSS was read`);
    return rss;
  } finally {
    idle.kill('SIGKILL');
    await idle;
  }
}
