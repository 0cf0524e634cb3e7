import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { linkPodToBridge, type NativeError, unlinkPodInterface } from '../native.js';
import { whenMissing } from '../state/read.js';
import type { Subnet } from './subnet.js';

// A pod's link to a network's bridge, made by Corral itself: a veth pair, one end in the pod's
// network namespace with its address and routes, the other on the bridge with hairpin mode (so a pod
// reaches itself through its own published port). This is what the CNI bridge plugin does on ADD,
// without its two Go processes (bridge and host-local), and without any process at all: the native
// addon makes it by rtnetlink (native/src/links.cc), the veth's peer created directly in the pod's
// namespace and its address and route set through a netlink socket opened there, where this took two
// `ip -batch` processes (one through nsenter) at about 20 ms each on every attach, and one on every
// detach. The addresses come from leases.ts, the NAT and forwarding rules from network-rules.ts (once
// per network), published ports still from the portmap plugin. Measured in the README (Networking).

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

// The bridge is made once per network (ensureBridge), so one `ip` process there costs nothing per pod.
async function ipBatch(commands: readonly string[]): Promise<{ exitCode?: number; stderr: string }> {
  const { execa } = await import('execa');
  const result = await execa('ip', ['-batch', '-'], { input: `${commands.join('\n')}\n`, reject: false });
  return { exitCode: result.exitCode, stderr: String(result.stderr).trim() };
}

async function mustBatch(commands: readonly string[], what: string): Promise<void> {
  const result = await ipBatch(commands);
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

/** The failure of the addon, with where it happened (the native error names the step and interface). */
function linkErrorOf(error: unknown, what: string, fix: string): unknown {
  if (!(error instanceof Error) || typeof (error as Partial<NativeError>).syscall !== 'string') return error;
  return new LinkError(`could not ${what}: ${error.message}; ${fix}`, { cause: error });
}

/** Makes the link; returns the host end's name. An interface of that name left in the pod by an interrupted attach is replaced. */
export async function linkPod(link: PodLink): Promise<string> {
  // veth and 8 hex digits, as the bridge plugin names its host ends.
  const hostEnd = `veth${randomBytes(4).toString('hex')}`;
  try {
    await linkPodToBridge({
      netns: link.netns, ifName: link.ifName, hostEnd, bridge: link.bridge, address: link.address, prefixLength: Number(prefixOf(link.subnet)),
      ...(link.defaultRoute ? { gateway: link.subnet.gateway } : {}), ...(link.mac ? { mac: link.mac } : {}),
    });
  } catch (error) {
    throw linkErrorOf(error, `link ${link.ifName} (address ${link.address}) in ${link.netns} to bridge ${link.bridge}`, 'check that the pod\'s namespace and the network\'s bridge exist (`corral down` and `corral up` make them again)');
  }
  return hostEnd;
}

/** Removes the pod's interface (and with it its peer on the bridge), if it is there; a namespace already gone is no error. */
export async function unlinkPod(netns: string, ifName: string): Promise<void> {
  try {
    await unlinkPodInterface(netns, ifName);
  } catch (error) {
    throw linkErrorOf(error, `remove ${ifName} in ${netns}`, 'remove it by hand with `ip link del` in that namespace if it stays');
  }
}

/**
 * Removes a network's bridge, if it is there: one RTM_DELLINK in Corral's own namespace, through the
 * job that removes a pod's interface, where `ip link del` was a process on every bridged `down`.
 */
export async function removeBridge(bridge: string): Promise<void> {
  try {
    await unlinkPodInterface('/proc/self/ns/net', bridge);
  } catch (error) {
    throw linkErrorOf(error, `remove bridge ${bridge}`, `remove it by hand (ip link del ${bridge}), then run the command again`);
  }
}

