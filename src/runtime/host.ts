import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';

// Facts about the host that shape every container: which runtime to use and the limits it can grant.

/** The hard RLIMIT_NOFILE of this process, which no container may exceed (runc fails if asked to). */
export async function hostNofileHardLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const line = limits.split('\n').find((row) => row.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? 1048576 : Number(hard);
}

/** Finds a binary in the usual system dirs, preferring an explicit override. */
export function findBinary(name: string, override?: string): string {
  if (override) return override;
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/libexec/podman']) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(`${name} is not installed (apt-get install ${name}, or run scripts/bootstrap.sh)`);
}
