import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { summarise, type Figure } from './stats.js';

// `up --wait` on a dependency chain (first <- second <- third, each `service_healthy` on the one
// before): each container makes itself ready READY_AFTER_S after it starts by creating a file in a
// bind-mounted dir, which its probe looks for every PROBE_INTERVAL_S. The figure is how long after
// the last container became ready (that file's mtime) `up --wait` returned, against the probe
// interval: --wait should answer within one interval of the last readiness, not probe from scratch.

export interface WaitLatencyOptions {
  readonly cli: string;
  readonly env: Record<string, string>;
  /** A directory of the benchmark's own for the project file and the ready files. */
  readonly dir: string;
  readonly rootfs: string;
  readonly runs: number;
}

export const PROBE_INTERVAL_S = 1;
const READY_AFTER_S = 1;
const CHAIN = ['first', 'second', 'third'] as const;

export interface WaitFigures {
  /** From the last container's readiness to `up --wait` returning. */
  readonly afterLastReady: Figure;
  /** The whole `up --wait`. */
  readonly total: Figure;
  readonly probeIntervalS: number;
}

function chainProject(rootfs: string, readyDir: string): string {
  const pods = CHAIN.map((name, index) => `  ${name}:
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", "sleep ${READY_AFTER_S}; touch /ready/${name}; exec sleep 3600"]
        stop_signal: SIGKILL
        volumes: ["${readyDir}:/ready"]
        healthcheck: { test: ["CMD", "test", "-f", "/ready/${name}"], interval: ${PROBE_INTERVAL_S}s, start_period: 60s, start_interval: ${PROBE_INTERVAL_S}s }
${index === 0 ? '' : `        depends_on: { ${CHAIN[index - 1]}: { condition: service_healthy } }\n`}`);
  return `pods:\n${pods.join('')}`;
}

export async function measureWaitLatency(options: WaitLatencyOptions): Promise<WaitFigures> {
  const file = path.join(options.dir, 'corral.yaml');
  const readyDir = path.join(options.dir, 'ready');
  const corral = (args: string[]) => execa(process.execPath, [options.cli, ...args], { env: options.env, stdin: 'ignore', timeout: 300_000 });
  const afterLastReady: number[] = [];
  const total: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    await mkdir(readyDir, { recursive: true });
    await writeFile(file, chainProject(options.rootfs, readyDir));
    const start = Date.now();
    await corral(['-f', file, '-p', 'benchwait', 'up', '--wait']);
    const returned = Date.now();
    const lastReady = (await stat(path.join(readyDir, CHAIN.at(-1)!))).mtimeMs;
    afterLastReady.push((returned - lastReady) / 1000);
    total.push((returned - start) / 1000);
    await corral(['-p', 'benchwait', 'down']);
    await execa('rm', ['-rf', readyDir]);
  }
  return { afterLastReady: summarise(afterLastReady), total: summarise(total), probeIntervalS: PROBE_INTERVAL_S };
}
