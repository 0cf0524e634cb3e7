import { availableParallelism } from 'node:os';
import type { Resources } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';

// Sizes and cgroup limits: what the schema lets through as a number can still be one the kernel
// refuses or that could never work (a memory limit of 1k, 1000 CPUs on a 2-core host, a reservation
// above the limit); those are refused here at their line, as docker refuses them at `run`.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Docker's floor: below it not even a shell starts, and the kernel OOM-kills at once. */
const MIN_MEMORY = 6 * 1024 * 1024;
/** The CFS quota the kernel accepts at least, 1 ms per 100 ms period. */
const MIN_CPUS = 0.01;

/** "64m" -> 67108864; integers are bytes already. */
export function parseSize(value: unknown): number {
  if (typeof value === 'number') return value;
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([bkmgt]?)i?b?$/i.exec(String(value).trim());
  if (!match) throw new Error(`not a size: ${String(value)}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
}

/** A size in bytes, refused at its line when no counter could hold it. */
export function sizeAt(parsed: ParsedFile, at: PathSegment[], value: unknown): number {
  const bytes = parseSize(value);
  if (!Number.isSafeInteger(bytes)) throw errorAt(parsed, at, `size ${String(value)} is too large`, 'write a size below 8 PiB, e.g. 512m or 4g');
  return bytes;
}

export interface ResourcesContext {
  readonly parsed: ParsedFile;
  /** CPUs of this host; default: the ones this process may run on. */
  readonly hostCpus?: number;
}

/** The cgroup limits of a pod or container, checked against what the kernel and this host can do. */
export function resourcesOf(raw: Record<string, unknown> | undefined, at: PathSegment[], context: ResourcesContext): Resources {
  if (!raw) return {};
  const { parsed } = context;
  const resources: { -readonly [key in keyof Resources]: Resources[key] } = {};
  if (raw.cpus !== undefined) {
    const cpus = Number(raw.cpus);
    const hostCpus = context.hostCpus ?? availableParallelism();
    if (cpus < MIN_CPUS || cpus > hostCpus) {
      throw errorAt(parsed, [...at, 'cpus'], `cpus: ${cpus} is out of range: this host has ${hostCpus} CPU${hostCpus === 1 ? '' : 's'}`, `use a number from ${MIN_CPUS} to ${hostCpus}, e.g. 0.5 for half a CPU`);
    }
    resources.cpus = cpus;
  }
  if (raw.memory !== undefined) {
    resources.memoryBytes = sizeAt(parsed, [...at, 'memory'], raw.memory);
    if (resources.memoryBytes < MIN_MEMORY) throw errorAt(parsed, [...at, 'memory'], `memory limit ${String(raw.memory)} is too small to run anything`, 'use at least 6m, e.g. 64m');
  }
  if (raw.memory_reservation !== undefined) {
    resources.memoryReservationBytes = sizeAt(parsed, [...at, 'memory_reservation'], raw.memory_reservation);
    if (resources.memoryBytes !== undefined && resources.memoryReservationBytes > resources.memoryBytes) {
      throw errorAt(parsed, [...at, 'memory_reservation'], `memory_reservation ${String(raw.memory_reservation)} is above the memory limit ${String(raw.memory)}`, 'make the reservation (the soft limit) at most memory');
    }
  }
  if (raw.pids !== undefined) resources.pidsLimit = Number(raw.pids);
  return resources;
}
