import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { whenMissing } from '../state/read.js';
import type { Subnet } from './subnet.js';

// A pod's link to a network's bridge, made by Corral itself: a veth pair, one end in the pod's
// network namespace with its address and routes, the other on the bridge with hairpin mode (so a pod
// reaches itself through its own published port). This is what the CNI bridge plugin does on ADD,
// without its two Go processes (bridge and host-local): two `ip -batch` runs, one in the pod's
// namespace (through nsenter: `ip -n` takes names under /run/netns only) and one on the host. The
// addresses come from leases.ts, the NAT and forwarding rules from network-rules.ts (once per
// network), published ports still from the portmap plugin. Measured in the README (Networking).

/** A link to make: the pod's end and the bridge's. */
export interface PodLink {
  /** The pod's pinned network namespace. */
  readonly netns: string;
  /** The interface in the pod: eth0, eth1, ... or the file's interface_name. */
  readonly ifName: string;
  readonly bridge: string;
  readonly subnet: Subnet;
  /** The pod's address on the network. */
  readonly address: string;
  /** Whether this network gives the pod its default route (its first network with a way out). */
  readonly defaultRoute: boolean;
  /** The pod interface's MAC address (compose's mac_address), else the kernel's random one. */
  readonly mac?: string;
}

export class LinkError extends Error {}

const prefixOf = (subnet: Subnet) => subnet.cidr.split('/')[1];

async function ipBatch(commands: readonly string[], netns?: string): Promise<{ exitCode?: number; stderr: string }> {
  const { execa } = await import('execa');
  const [file, args] = netns ? ['nsenter', [`--net=${netns}`, 'ip', '-batch', '-']] : ['ip', ['-batch', '-']];
  const result = await execa(file, args, { input: `${commands.join('\n')}\n`, reject: false });
  return { exitCode: result.exitCode, stderr: String(result.stderr).trim() };
}

async function mustBatch(commands: readonly string[], what: string, netns?: string): Promise<void> {
  const result = await ipBatch(commands, netns);
  if (result.exitCode !== 0) throw new LinkError(`could not ${what} (ip exit ${result.exitCode}: ${result.stderr})`);
}

/**
 * The bridge's own MAC address, set when it is made (locally administered, from its name). A bridge
 * left to the kernel takes the lowest of its ports' addresses and changes it when that pod leaves:
 * the other pods' ARP entries for the gateway (their resolver) then point nowhere for half a minute.
 * The bridge plugin pins it the same way.
 */
export function bridgeMac(bridge: string): string {
  const bytes = createHash('sha256').update(bridge).digest().subarray(0, 6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/**
 * Makes the network's bridge with its gateway address, and turns IPv4 forwarding on, if missing; safe
 * to repeat and to run side by side (a bridge another attach made meanwhile is no error).
 */
export async function ensureBridge(bridge: string, subnet: Subnet): Promise<void> {
  // Up means ready: it is set up last, after its address (the next pods pay no process for this).
  if (await isUp(bridge)) return;
  if (!existsSync(`/sys/class/net/${bridge}`)) {
    const made = await ipBatch([`link add ${bridge} address ${bridgeMac(bridge)} type bridge`]);
    if (made.exitCode !== 0 && !existsSync(`/sys/class/net/${bridge}`)) throw new LinkError(`could not make bridge ${bridge} (ip exit ${made.exitCode}: ${made.stderr}); check that this kernel has bridges (modprobe bridge)`);
  }
  await mustBatch([`address replace ${subnet.gateway}/${prefixOf(subnet)} dev ${bridge}`, `link set ${bridge} up`], `give bridge ${bridge} its gateway ${subnet.gateway}`);
  // As the bridge plugin does for a gateway bridge: without it nothing leaves the bridge.
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
}

const IFF_UP = 0x1;

async function isUp(link: string): Promise<boolean> {
  const flags = await readFile(`/sys/class/net/${link}/flags`, 'utf8').catch(whenMissing(''));
  return flags !== '' && (Number.parseInt(flags.trim(), 16) & IFF_UP) !== 0;
}

/** The pod end's commands: made with its peer moved to the host (Corral's own namespace), addressed, up, routed. */
function podSide(link: PodLink, hostEnd: string): string[] {
  return [
    `link add ${link.ifName}${link.mac ? ` address ${link.mac}` : ''} type veth peer name ${hostEnd} netns ${process.pid}`,
    `address add ${link.address}/${prefixOf(link.subnet)} dev ${link.ifName}`,
    `link set ${link.ifName} up`,
    ...(link.defaultRoute ? [`route add default via ${link.subnet.gateway} dev ${link.ifName}`] : []),
  ];
}

/** Makes the link; returns the host end's name. An interface of that name left in the pod by an interrupted attach is replaced. */
export async function linkPod(link: PodLink): Promise<string> {
  // veth and 8 hex digits, as the bridge plugin names its host ends.
  const hostEnd = `veth${randomBytes(4).toString('hex')}`;
  let made = await ipBatch(podSide(link, hostEnd), link.netns);
  if (made.exitCode !== 0 && /File exists/.test(made.stderr)) {
    await unlinkPod(link.netns, link.ifName);
    made = await ipBatch(podSide(link, hostEnd), link.netns);
  }
  if (made.exitCode !== 0) {
    await unlinkPod(link.netns, link.ifName);
    throw new LinkError(`could not make ${link.ifName} with address ${link.address} in ${link.netns} (ip exit ${made.exitCode}: ${made.stderr})`);
  }
  try {
    await mustBatch([`link set ${hostEnd} master ${link.bridge}`, `link set ${hostEnd} type bridge_slave hairpin on`, `link set ${hostEnd} up`], `put ${hostEnd} on bridge ${link.bridge}`);
  } catch (error) {
    await unlinkPod(link.netns, link.ifName);
    throw error;
  }
  return hostEnd;
}

/** Removes the pod's interface (and with it its peer on the bridge), if it is there. */
export async function unlinkPod(netns: string, ifName: string): Promise<void> {
  if (!existsSync(netns)) return;
  const removed = await ipBatch([`link del ${ifName}`], netns);
  // Gone already: the interface, or the namespace (its pin unmounted, nsenter cannot enter the file).
  if (removed.exitCode !== 0 && !/Cannot find device|does not exist|reassociate to namespace/i.test(removed.stderr)) {
    throw new LinkError(`could not remove ${ifName} in ${netns} (ip exit ${removed.exitCode}: ${removed.stderr})`);
  }
}
