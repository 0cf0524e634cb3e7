import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { subnetClaimsDir } from '../state/paths.js';
import { namesInDir, whenMissing } from '../state/read.js';

// Each project gets a /24 of 10.89.0.0/16 that no other project and no host interface or route
// uses. A subnet is claimed by a file in one host-wide directory, created exclusively, so two
// projects (even with different CORRAL_RUN_DIRs) never take the same one.

export const CLAIMS_DIR = subnetClaimsDir();

export interface Subnet {
  readonly cidr: string;
  readonly gateway: string;
}

const claimFile = (cidr: string) => `${CLAIMS_DIR}/${cidr.replace('/', '_')}`;

export function toNumber(ip: string): number {
  return ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** The first and last address of a network, as numbers. */
export function rangeOf(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(toNumber(ip) / size) * size;
  return [start, start + size - 1];
}

const overlaps = (a: string, b: string) => {
  const [a0, a1] = rangeOf(a);
  const [b0, b1] = rangeOf(b);
  return a0 <= b1 && b0 <= a1;
};

/** Whether the address (or the address of an `a.b.c.d/n` network) lies in the subnet. */
export function subnetContains(cidr: string, address: string): boolean {
  const [start, end] = rangeOf(cidr);
  const value = toNumber(address.split('/')[0] ?? '');
  return value >= start && value <= end;
}

export function subnetOf(cidr: string): Subnet {
  const [start] = rangeOf(cidr);
  return { cidr: `${toAddress(start)}/${cidr.split('/')[1]}`, gateway: toAddress(start + 1) };
}

/** Networks the host already uses: interface addresses and routes (not the default route). */
async function hostNetworks(): Promise<string[]> {
  const { execa } = await import('execa');
  const [addresses, routes] = await Promise.all([execa('ip', ['-o', '-4', 'addr', 'show']), execa('ip', ['-4', 'route', 'show'])]);
  const fromAddresses = String(addresses.stdout).split('\n').map((line) => line.split(/\s+/)[3]).filter((cidr): cidr is string => !!cidr && cidr.includes('/'));
  const fromRoutes = String(routes.stdout).split('\n').map((line) => line.split(' ')[0]!).filter((cidr) => cidr.includes('/'));
  return [...fromAddresses, ...fromRoutes].filter((cidr) => !cidr.startsWith('127.'));
}

async function claim(cidr: string, owner: string, hostUsed: readonly string[]): Promise<boolean> {
  const holder = await readFile(claimFile(cidr), 'utf8').catch(whenMissing(undefined)); // undefined: not claimed yet
  if (holder !== undefined) return holder.trim() === owner;
  // Our own bridge is a host interface too once attached; that is not a conflict.
  if (hostUsed.some((used) => overlaps(used, cidr))) return false;
  try {
    await writeFile(claimFile(cidr), `${owner}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    // Another project claimed it since we looked.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * The subnet of a project: the one asked for, or a free /24 of 10.89.0.0/16, starting from one
 * derived from the owner so that projects keep theirs across runs. `owner` names the project host-wide.
 */
export async function claimSubnet(owner: string, wanted?: string, key = 'networks.default.subnet'): Promise<Subnet> {
  await mkdir(CLAIMS_DIR, { recursive: true, mode: 0o700 });
  const hostUsed = await hostNetworks();
  if (wanted) {
    const subnet = subnetOf(wanted);
    if (await claim(subnet.cidr, owner, hostUsed)) return subnet;
    // No claim file: what holds it is on the host itself.
    const holder = await readFile(claimFile(subnet.cidr), 'utf8').catch(whenMissing('a host interface or route'));
    throw new Error(`subnet ${subnet.cidr} is already used by ${holder.trim()}; choose another ${key}`);
  }
  const first = createHash('sha256').update(owner).digest().readUInt8(0);
  for (let offset = 0; offset < 256; offset++) {
    const cidr = `10.89.${(first + offset) % 256}.0/24`;
    if (await claim(cidr, owner, hostUsed)) return subnetOf(cidr);
  }
  throw new Error(`no free /24 left in 10.89.0.0/16; set ${key} in the project file`);
}

/** Every claim with its owner. */
async function claims(): Promise<{ cidr: string; owner: string }[]> {
  const all: { cidr: string; owner: string }[] = [];
  for (const claim of await namesInDir(CLAIMS_DIR)) {
    // A claim released by its project meanwhile is simply not held.
    const holder = await readFile(`${CLAIMS_DIR}/${claim}`, 'utf8').catch(whenMissing(''));
    if (holder) all.push({ cidr: claim.replace('_', '/'), owner: holder.trim() });
  }
  return all;
}

/** The subnets `owner` holds, by their claims (which outlive a lost or damaged network.json). */
export async function subnetsClaimedBy(owner: string): Promise<string[]> {
  return (await claims()).filter((claim) => claim.owner === owner).map((claim) => claim.cidr);
}

/** The owners of claims below `dir` (a project's named networks), also of networks whose record is lost. */
export async function subnetOwnersUnder(dir: string): Promise<string[]> {
  return [...new Set((await claims()).filter((claim) => claim.owner.startsWith(`${dir}/`)).map((claim) => claim.owner))];
}

/** Releases every subnet `owner` holds (also one whose record a crash lost). */
export async function releaseSubnets(owner: string): Promise<void> {
  for (const cidr of await subnetsClaimedBy(owner)) await unlink(claimFile(cidr)).catch(whenMissing(undefined));
}
