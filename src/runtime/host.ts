import { readFile } from 'node:fs/promises';
import { ALL_CAPABILITIES } from '../project/capabilities.js';
import { existsSync } from 'node:fs';

// Facts about the host that shape every container: which runtime to use and the limits it can grant.

/** The rows of /proc/self/limits by the name a ulimit has (setrlimit's units, as the runtime spec's). */
const LIMIT_ROWS: Readonly<Record<string, string>> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack', 'Max core file size': 'core',
  'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile', 'Max locked memory': 'memlock', 'Max address space': 'as',
  'Max file locks': 'locks', 'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

/** This process's hard limits by ulimit name; -1 is unlimited. A host without CAP_SYS_RESOURCE cannot give a container more. */
export async function hostHardLimits(): Promise<Readonly<Record<string, number>>> {
  const limits: Record<string, number> = {};
  for (const row of (await readFile('/proc/self/limits', 'utf8')).split('\n')) {
    const label = Object.keys(LIMIT_ROWS).find((prefix) => row.startsWith(`${prefix} `));
    if (!label) continue;
    const hard = row.slice(label.length).trim().split(/\s+/)[1];
    if (hard !== undefined) limits[LIMIT_ROWS[label]!] = hard === 'unlimited' ? -1 : Number(hard);
  }
  return limits;
}

/** The hard RLIMIT_NOFILE of this process, which no container may exceed (runc fails if asked to). */
export function nofileHardLimitOf(hardLimits: Readonly<Record<string, number>>): number {
  const hard = hardLimits.nofile;
  return hard === undefined || hard === -1 ? 1048576 : hard;
}

/**
 * The capabilities this process may hand on (its bounding set, in ALL_CAPABILITIES' kernel order):
 * a container cannot get more, and the runtime fails if asked to (some VMs drop CAP_SYS_RESOURCE).
 */
export async function hostBoundingCapabilities(): Promise<readonly string[]> {
  const status = await readFile('/proc/self/status', 'utf8');
  const mask = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? 'ffffffffff'}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Finds a binary in the usual system dirs, preferring an explicit override. */
export function findBinary(name: string, override?: string): string {
  if (override) return override;
  // A path (CORRAL_RUNTIME=/opt/bin/crun) is taken as it is, if it is there.
  if (name.includes('/')) {
    if (existsSync(name)) return name;
    throw new Error(`${name} does not exist; point CORRAL_RUNTIME at an installed OCI runtime (runc or crun)`);
  }
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/libexec/podman']) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(`${name} is not installed (apt-get install ${name}, or run scripts/bootstrap.sh)`);
}
