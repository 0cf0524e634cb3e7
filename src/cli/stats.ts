import type { Command } from 'commander';
import type { RuntimeContext } from '../runtime/context.js';
import type { ObservedContainer } from '../runtime/observe.js';
import type { StatsSample } from '../runtime/stats.js';
import { UsageError } from './errors.js';
import { selectContainers } from './resources.js';
import { formatTable } from './table.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral stats [--no-stream] [--format json|table] [pod | pod/container ...]`, as `docker compose
// stats`: CPU, memory, pids, network and block I/O of each running (or paused) container, refreshed
// every second until Ctrl-C, or printed once with --no-stream. The JSON shape is in the README.

interface StatsOptions extends TargetOptions {
  /** --no-stream: commander's negated flag. */
  readonly stream?: boolean;
  readonly format?: string;
}

/** One container's line, in the JSON shape the README documents. */
export interface ContainerStats {
  readonly pod: string;
  readonly container: string;
  /** Percent of one CPU (200 is two CPUs busy). */
  readonly cpuPercent: number;
  readonly memory: { readonly usageBytes: number; readonly limitBytes: number | null; readonly percent: number | null };
  readonly pids: { readonly current: number; readonly limit: number | null };
  readonly network: { readonly rxBytes: number; readonly txBytes: number };
  readonly blockIo: { readonly readBytes: number; readonly writeBytes: number };
}

/** How long CPU time is measured over: docker's refresh, and what --no-stream waits once. */
const REFRESH_INTERVAL_MS = 1000;

const FORMATS = ['table', 'json'];

const round2 = (value: number) => Math.round(value * 100) / 100;

type Samples = Map<string, { container: ObservedContainer; sample: StatsSample }>;

/** One sample of each running or paused container the arguments name. */
async function sampleAll(context: RuntimeContext, resources: readonly string[]): Promise<Samples> {
  const { sampleContainer } = await import('../runtime/stats.js');
  const live = (await selectContainers(context, resources)).filter((container) => container.status === 'running' || container.status === 'paused');
  const sampled = await Promise.all(live.map(async (container) => ({ container, sample: await sampleContainer(context, container) })));
  return new Map(sampled.filter((one): one is { container: ObservedContainer; sample: StatsSample } => one.sample !== undefined).map((one) => [one.container.id, one]));
}

/** The lines for what was sampled twice (a container that appeared meanwhile waits for its second sample). */
async function statsBetween(before: Samples, after: Samples): Promise<ContainerStats[]> {
  const { cpuPercent } = await import('../runtime/stats.js');
  return [...after.values()].filter(({ container }) => before.has(container.id)).map(({ container, sample }) => {
    const limit = sample.memoryLimitBytes;
    return {
      pod: container.pod,
      container: container.name,
      cpuPercent: round2(cpuPercent(before.get(container.id)!.sample, sample)),
      memory: { usageBytes: sample.memoryBytes, limitBytes: limit, percent: limit ? round2((sample.memoryBytes / limit) * 100) : null },
      pids: { current: sample.pids, limit: sample.pidsLimit },
      network: sample.network,
      blockIo: sample.blockIo,
    };
  });
}

async function formatStats(stats: readonly ContainerStats[], format: string): Promise<string> {
  if (format === 'json') return JSON.stringify(stats);
  const { default: prettyBytes } = await import('pretty-bytes');
  const bytes = (value: number) => prettyBytes(value, { binary: true });
  return formatTable(['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], stats.map((one) => [
    `${one.pod}/${one.container}`,
    `${one.cpuPercent.toFixed(2)}%`,
    `${bytes(one.memory.usageBytes)} / ${one.memory.limitBytes === null ? 'no limit' : bytes(one.memory.limitBytes)}`,
    one.memory.percent === null ? '--' : `${one.memory.percent.toFixed(2)}%`,
    `${bytes(one.network.rxBytes)} / ${bytes(one.network.txBytes)}`,
    `${bytes(one.blockIo.readBytes)} / ${bytes(one.blockIo.writeBytes)}`,
    one.pids.limit === null ? String(one.pids.current) : `${one.pids.current} / ${one.pids.limit}`,
  ]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runStats(resources: string[], options: StatsOptions): Promise<void> {
  const format = options.format ?? 'table';
  if (!FORMATS.includes(format)) throw new UsageError(`unknown format ${JSON.stringify(format)}`, `use ${FORMATS.join(' or ')}`);
  const { openRuntime } = await import('../runtime/context.js');
  const context = await openRuntime(await targetProjectName(options, { command: 'stats', acceptTheOneRunning: true }), { readOnly: true });
  // A terminal is redrawn in place; a pipe gets one block (one JSON line) per refresh.
  const redraw = options.stream !== false && process.stdout.isTTY && format === 'table';
  let before = await sampleAll(context, resources);
  for (;;) {
    await sleep(REFRESH_INTERVAL_MS);
    const after = await sampleAll(context, resources);
    const text = await formatStats(await statsBetween(before, after), format);
    process.stdout.write(`${redraw ? '\x1b[2J\x1b[H' : ''}${text}\n`);
    if (options.stream === false) return;
    before = after;
  }
}

export function registerStats(program: Command): void {
  withTargetOptions(program
    .command('stats')
    .argument('[resources...]', 'pod or pod/container (default: all)')
    .description('show CPU, memory, pids, network and block I/O of running containers'))
    .option('--no-stream', 'print once instead of refreshing every second')
    .option('--format <format>', 'table or json (JSON: one array per refresh, one line each)', 'table')
    .action(async (resources: string[], options: StatsOptions, command: Command) => runStats(resources, { ...command.optsWithGlobals(), ...options }));
}
