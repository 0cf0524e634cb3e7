import { open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withProjectLock } from '../state/lock.js';
import { whenMissing } from '../state/read.js';
import { rangeOf, subnetContains, toAddress, toNumber, type Subnet } from './subnet.js';

// A network's address leases, kept as the CNI host-local plugin keeps them (its disk store): a
// directory per CNI network, a file per leased address holding `<container id>\r\n<interface>`,
// `last_reserved_ip.0` for where the next search starts (round robin, so a freed address is not
// given again at once), and a `lock` file that every writer flocks. Corral hands out addresses itself
// on the hot path of a pod's attach (network/pod-link.ts), and host-local still releases what it
// leased to pods that an older Corral attached: both see and respect each other's leases.

const LOCK_FILE = 'lock';
const LAST_RESERVED = 'last_reserved_ip.0';
const LINE_BREAK = '\r\n';

/** Who holds a lease: a container's interface on the network. */
export interface LeaseHolder {
  readonly id: string;
  readonly ifName: string;
}

export class AddressUnavailableError extends Error {}

const isAddressFile = (name: string) => /^\d+\.\d+\.\d+\.\d+$/.test(name);
const holderText = (holder: LeaseHolder) => `${holder.id}${LINE_BREAK}${holder.ifName}`;
const holderOf = (text: string): LeaseHolder => {
  const [id = '', ifName = ''] = text.split(/\r?\n/);
  return { id, ifName };
};
/** Which leases: those of one holder, or of the holders a test picks (a project's pods). */
type Holders = LeaseHolder | ((holder: LeaseHolder) => boolean);
const matcherOf = (holders: Holders) => (typeof holders === 'function' ? (text: string) => holders(holderOf(text)) : (text: string) => text === holderText(holders));

/** Whether an address of the subnet can be leased: not the network's own, its gateway or its broadcast address. */
export function isLeasable(subnet: Subnet, address: string): boolean {
  const [first, end] = rangeOf(subnet.cidr);
  const value = toNumber(address);
  return subnetContains(subnet.cidr, address) && value > first && value < end && address !== subnet.gateway;
}

/**
 * The next free address after the last leased, wrapping round the subnet (host-local's round
 * robin); undefined when the subnet is full.
 */
export function nextAddress(subnet: Subnet, taken: ReadonlySet<string>, last: string | undefined): string | undefined {
  const [first, end] = rangeOf(subnet.cidr);
  const size = end - first - 1;
  const after = last && subnetContains(subnet.cidr, last) ? toNumber(last) - first : 0;
  for (let step = 0; step < size; step++) {
    const address = toAddress(first + 1 + ((after + step) % size));
    if (isLeasable(subnet, address) && !taken.has(address)) return address;
  }
  return undefined;
}

const leaseText = async (dir: string, address: string) => (await readFile(path.join(dir, address), 'utf8').catch(whenMissing(''))).trim();

/** Every lease of the dir, its files read side by side: 50 read one after another were most of a pod's share of the lock. */
async function leasesIn(dir: string): Promise<Map<string, string>> {
  const addresses = (await readdir(dir).catch(whenMissing([] as string[]))).filter(isAddressFile);
  const texts = await Promise.all(addresses.map((address) => leaseText(dir, address)));
  return new Map(addresses.map((address, index) => [address, texts[index]!]));
}

const withLeases = <T>(dir: string, purpose: string, work: () => Promise<T>) => withProjectLock(path.join(dir, LOCK_FILE), work, undefined, { purpose });

/**
 * Leases an address of the subnet to the holder: `wanted` (a pod's ipv4_address, a restore's
 * recorded address) or the next free one. Leases the holder already had are given up first: a new
 * attach of the same interface replaces whatever an interrupted one left.
 */
export async function leaseAddress(dir: string, subnet: Subnet, holder: LeaseHolder, wanted?: string): Promise<string> {
  return withLeases(dir, `lease an address to ${holder.id} ${holder.ifName}`, async () => {
    const leases = await leasesIn(dir);
    for (const [address, text] of leases) {
      if (text === holderText(holder)) {
        await rm(path.join(dir, address), { force: true });
        leases.delete(address);
      }
    }
    if (wanted !== undefined) {
      if (!isLeasable(subnet, wanted)) {
        throw new AddressUnavailableError(`address ${wanted} is not one of network ${path.basename(dir)}'s (${subnet.cidr}, gateway ${subnet.gateway})`);
      }
      if (leases.has(wanted)) throw new AddressUnavailableError(`address ${wanted} on network ${path.basename(dir)} is already leased to ${leases.get(wanted)!.split(LINE_BREAK).join(' ')}`);
    }
    const last = await readFile(path.join(dir, LAST_RESERVED), 'utf8').catch(whenMissing(undefined));
    const address = wanted ?? nextAddress(subnet, new Set(leases.keys()), last?.trim());
    if (!address) throw new AddressUnavailableError(`network ${path.basename(dir)} (${subnet.cidr}) has no free address left`);
    // O_EXCL, as host-local reserves: a lease file is never overwritten.
    const file = await open(path.join(dir, address), 'wx', 0o600);
    try {
      await file.writeFile(holderText(holder));
    } finally {
      await file.close();
    }
    // Also for a wanted address, as host-local's store does.
    await writeFile(path.join(dir, LAST_RESERVED), address, { mode: 0o600 });
    return address;
  });
}

/** The addresses leased to the holders, as they are now (read without the lock). */
export async function leasedAddresses(dir: string, holders: Holders): Promise<string[]> {
  const matches = matcherOf(holders);
  return [...await leasesIn(dir)].filter(([, text]) => matches(text)).map(([address]) => address);
}

/**
 * Gives up every address leased to the holders; returns them. `recorded`: the address a pod's record
 * says its holder was given. A holder has one lease per network at most (leaseAddress gives up the
 * others first), so when that file is the holder's, it is the only one and the rest of the network's
 * files are not read: a 50-pod down read each network's 50 files 50 times, one pod after another,
 * under the lock (seconds of a down, README). Any other case reads them all, as before.
 */
export async function releaseAddresses(dir: string, holders: Holders, recorded?: string): Promise<string[]> {
  const matches = matcherOf(holders);
  return withLeases(dir, `release the addresses of ${typeof holders === 'function' ? 'a project\'s pods' : `${holders.id} ${holders.ifName}`}`, async () => {
    if (recorded !== undefined && typeof holders !== 'function' && await leaseText(dir, recorded) === holderText(holders)) {
      await rm(path.join(dir, recorded), { force: true });
      return [recorded];
    }
    const released: string[] = [];
    for (const [address, text] of await leasesIn(dir)) {
      if (!matches(text)) continue;
      await rm(path.join(dir, address), { force: true });
      released.push(address);
    }
    return released;
  });
}
