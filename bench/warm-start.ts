import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { summarise, type Figure } from './stats.js';

// Time to ready of a slow-to-warm service: cold against restored from a checkpoint (`up --restore`,
// issue 23). The container spends WARM_UP_S building its state, then says `ready` and ticks once a
// second; ready is seen in its log (conmon's file, read directly: no CLI start in the measurement).
// Cold is `up -d` of a stopped container, which warms up again; restored is `up -d --restore` of the
// same container checkpointed once ready, which goes on ticking without warming up. Needs a CRIU that
// works with the kernel (on this project's hosts only the Debian 12 guest: test/hosts/checkpoint
// measures it there); elsewhere `checkpoint` is refused, and the figure says why.

export interface WarmStartOptions {
  readonly cli: string;
  readonly env: Record<string, string>;
  /** A directory of the benchmark's own for the project file. */
  readonly dir: string;
  readonly rootfs: string;
  readonly runs: number;
  /** How long one wait for the container may take (minutes under emulation). */
  readonly timeoutMs?: number;
}

export interface WarmStartFigures {
  /** `up -d` of the stopped container until it says ready again (it warms up anew). */
  readonly cold: Figure;
  /** `up -d --restore` from its checkpoint until it ticks on. */
  readonly restored: Figure;
  /** `checkpoint` of the ready container, for the record. */
  readonly checkpoint: Figure;
  /** Whether a restored container ever warmed up again (it must not). */
  readonly warmedAgainAfterRestore: boolean;
}

/** What the service spends building its state before it answers. */
export const WARM_UP_S = 5;
const PROJECT = 'warm';
const RESOURCE = 'svc/app';
const POLL_MS = 20;
const DEFAULT_TIMEOUT_MS = 120_000;

const projectFile = (rootfs: string) => [
  'pods:',
  '  svc:',
  '    containers:',
  '      app:',
  `        rootfs: ${rootfs}`,
  `        command: [sh, -c, "i=0; while [ $$i -lt ${WARM_UP_S} ]; do i=$$((i+1)); sleep 1; done; echo ready; n=0; while :; do n=$$((n+1)); echo tick $$n; sleep 1; done"]`,
  '',
].join('\n');

export class CheckpointRefused extends Error {}

export async function measureWarmStart(options: WarmStartOptions): Promise<WarmStartFigures> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await mkdir(options.dir, { recursive: true });
  const file = path.join(options.dir, 'corral.yaml');
  await writeFile(file, projectFile(options.rootfs));
  const log = path.join(options.env.CORRAL_STATE_DIR!, 'projects', PROJECT, 'containers', `${PROJECT}.svc.app`, 'ctr.log');
  const corral = async (args: string[]) => {
    const result = await execa('node', [options.cli, '-f', file, '-p', PROJECT, ...args], { env: options.env, reject: false });
    if (result.exitCode !== 0) {
      const message = `corral ${args.join(' ')} exited ${result.exitCode}: ${String(result.stderr).trim()}`;
      throw args[0] === 'checkpoint' ? new CheckpointRefused(message) : new Error(message);
    }
  };
  // No log yet: conmon has not written the first line.
  const text = () => readFile(log, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const lines = async () => (await text()).split('\n').map((line) => line.replace(/^\S+ \S+ [FP] ?/, ''));
  /** Seconds from `work`'s start until `seen` holds for the log's lines. */
  const timeTo = async (work: () => Promise<void>, seen: (now: string[]) => boolean, what: string) => {
    const start = process.hrtime.bigint();
    await work();
    const deadline = Date.now() + timeoutMs;
    while (!seen(await lines())) {
      if (Date.now() > deadline) throw new Error(`bench: ${RESOURCE} did not ${what} within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const readyCount = (now: string[]) => now.filter((line) => line === 'ready').length;
  const cold: number[] = [];
  const restored: number[] = [];
  const checkpoints: number[] = [];
  let warmedAgain = false;
  try {
    await timeTo(() => corral(['up', '-d']), (now) => readyCount(now) === 1, 'say ready');
    for (let run = 0; run < options.runs; run++) {
      const started = process.hrtime.bigint();
      await corral(['checkpoint', RESOURCE]);
      checkpoints.push(Number(process.hrtime.bigint() - started) / 1e9);
      const before = await lines();
      restored.push(await timeTo(() => corral(['up', '-d', '--restore']), (now) => now.slice(before.length).some((line) => line.startsWith('tick')), 'tick on after the restore'));
      if (readyCount(await lines()) > readyCount(before)) warmedAgain = true;
      const readyBefore = readyCount(await lines());
      await corral(['stop', RESOURCE]);
      cold.push(await timeTo(() => corral(['up', '-d']), (now) => readyCount(now) > readyBefore, 'say ready again'));
    }
  } finally {
    await execa('node', [options.cli, '-p', PROJECT, 'down'], { env: options.env, reject: false });
  }
  return { cold: summarise(cold), restored: summarise(restored), checkpoint: summarise(checkpoints), warmedAgainAfterRestore: warmedAgain };
}
