import { readFile } from 'node:fs/promises';
import * as native from '../native.js';
import { containerCgroup, podCgroup } from '../state/paths.js';
import { whenMissing } from '../state/read.js';
import type { RuntimeContext } from './context.js';
import type { ObservedContainer } from './observe.js';

// `corral stats`: what a container uses, as `docker stats` shows it, read from the files the kernel
// keeps for it: its cgroup (v1: one hierarchy per controller; v2: one tree) for CPU, memory, pids and
// block I/O, and /proc/<pid>/net/dev of its process for the network of its pod (the netns it shares).
// Nothing runs inside the container, and a paused one is read the same way.

/** One reading of a container's counters; CPU use is a difference of two of them. */
export interface StatsSample {
  /** When it was read (ms, monotonic). */
  readonly at: number;
  /** CPU time used by all its processes, in nanoseconds. */
  readonly cpuNanoseconds: number;
  /** Memory in use, less the inactive page cache the kernel can drop (as docker counts it). */
  readonly memoryBytes: number;
  /** The lowest limit of its cgroup and its pod's; null: none. */
  readonly memoryLimitBytes: number | null;
  readonly pids: number;
  readonly pidsLimit: number | null;
  readonly network: { readonly rxBytes: number; readonly txBytes: number };
  readonly blockIo: { readonly readBytes: number; readonly writeBytes: number };
}

/** v1 writes "no limit" as the largest page-aligned signed 64-bit number; anything from 2^62 up is that. */
const V1_NO_LIMIT = 2 ** 62;

/** A limit as a cgroup file holds it: "max" (v2) or a huge number (v1) is none. */
export function parseLimit(text: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  const number = Number(value);
  return Number.isFinite(number) && number < V1_NO_LIMIT ? number : null;
}

/** `key value` lines (memory.stat, cpu.stat) as a map. */
export function parseKeyValues(text: string): Map<string, number> {
  return new Map(text.split('\n').filter(Boolean).map((line) => {
    const [key = '', value = ''] = line.trim().split(/\s+/);
    return [key, Number(value)];
  }));
}

/** Bytes received and sent on every interface but loopback, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  // Two header lines, then `iface: rx_bytes packets errs drop fifo frame compressed multicast tx_bytes ...`.
  for (const line of text.split('\n').slice(2)) {
    const [name, counters = ''] = line.split(':');
    if (!name || name.trim() === 'lo') continue;
    const fields = counters.trim().split(/\s+/).map(Number);
    rxBytes += fields[0] ?? 0;
    txBytes += fields[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

/** Bytes read and written to block devices: v1 blkio.throttle.io_service_bytes (`8:0 Read 4096`), or v2 io.stat (`8:0 rbytes=4096 wbytes=0 ...`). */
export function parseBlockIo(text: string, version: 1 | 2): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    if (version === 1) {
      const [, operation, value] = line.trim().split(/\s+/);
      if (operation === 'Read') readBytes += Number(value);
      if (operation === 'Write') writeBytes += Number(value);
      continue;
    }
    readBytes += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    writeBytes += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { readBytes, writeBytes };
}

/** The lower of two limits, none counting as no bound. */
function lowerLimit(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

/**
 * The block I/O counters, or none where the host has no such controller for the cgroup (a v1 host
 * without blkio mounted, a v2 tree where io is not enabled): that is no I/O to show, not a gone container.
 */
function readBlockIo(cgroup: string, version: 1 | 2): string {
  try {
    return native.readCgroupFile(version === 1 ? 'blkio' : 'io', cgroup, version === 1 ? 'blkio.throttle.io_service_bytes' : 'io.stat');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** One reading of the container's counters; undefined when its cgroup or process went away meanwhile. */
export async function sampleContainer(context: RuntimeContext, container: ObservedContainer): Promise<StatsSample | undefined> {
  const cgroup = containerCgroup(context.project, container.pod, container.name);
  const pod = podCgroup(context.project, container.pod);
  const version = native.cgroupVersion();
  const read = (controller: string, file: string, relPath = cgroup) => native.readCgroupFile(controller, relPath, file);
  // The pod's network namespace, as the container's process sees it; gone (it exited): nothing counted.
  const netDev = await readFile(`/proc/${container.pid}/net/dev`, 'utf8').catch(whenMissing(undefined, ['ESRCH']));
  try {
    const at = performance.now();
    const memoryStat = parseKeyValues(read('memory', 'memory.stat'));
    const limitFile = version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
    return {
      at,
      cpuNanoseconds: version === 1 ? Number(read('cpuacct', 'cpuacct.usage')) : (parseKeyValues(read('cpu', 'cpu.stat')).get('usage_usec') ?? 0) * 1000,
      memoryBytes: Math.max(0, Number(read('memory', version === 1 ? 'memory.usage_in_bytes' : 'memory.current')) - (memoryStat.get(version === 1 ? 'total_inactive_file' : 'inactive_file') ?? 0)),
      memoryLimitBytes: lowerLimit(parseLimit(read('memory', limitFile)), parseLimit(read('memory', limitFile, pod))),
      pids: Number(read('pids', 'pids.current')),
      pidsLimit: lowerLimit(parseLimit(read('pids', 'pids.max')), parseLimit(read('pids', 'pids.max', pod))),
      network: netDev === undefined ? { rxBytes: 0, txBytes: 0 } : parseNetDev(netDev),
      blockIo: parseBlockIo(readBlockIo(cgroup, version), version),
    };
  } catch (error) {
    // The container stopped and its cgroup was removed between listing it and reading it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** CPU use between two samples as a percentage of one CPU (200% is two CPUs busy), as docker shows it. */
export function cpuPercent(before: StatsSample, after: StatsSample): number {
  const elapsedNanoseconds = (after.at - before.at) * 1e6;
  return elapsedNanoseconds > 0 ? Math.max(0, ((after.cpuNanoseconds - before.cpuNanoseconds) / elapsedNanoseconds) * 100) : 0;
}
