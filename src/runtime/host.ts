import { readFile } from 'node:fs/promises';
import { ALL_CAPABILITIES } from '../project/capabilities.js';
import { existsSync } from 'node:fs';

// Facts about the host that shape every container: which runtime to use and the limits it can grant.

/** The hard RLIMIT_NOFILE of this process, which no container may exceed (runc fails if asked to). */
export async function hostNofileHardLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const line = limits.split('\n').find((row) => row.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? 1048576 : Number(hard);
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
