import path from 'node:path';
import { addNetwork, type Attachment, type CniResult, deleteNetwork, type NetworkConfigList } from './cni.js';
import { leaseAddress, releaseAddresses } from './leases.js';
import { ensureBridge, linkPod, unlinkPod } from './pod-link.js';
import type { Subnet } from './subnet.js';

// A pod's namespace attached to one network, and detached: the hot path of a bridged pod's `up` and
// `down`. Corral leases the address (leases.ts, host-local's store) and makes the veth (pod-link.ts)
// itself, where the CNI bridge plugin and host-local took two Go processes on every ADD and DEL; the
// portmap plugin still publishes ports, given the result as the bridge plugin would have returned it.
// A pod attached by an older Corral (its record has no `linkedByCorral`) is detached by CNI DEL
// through the list it was attached with, as before.

/** What attaching needs of a network's list: its bridge plugin's settings. */
interface BridgeSettings {
  readonly bridge: string;
  readonly subnet: Subnet;
  /** host-local's dir of leases of this network. */
  readonly leases: string;
  readonly defaultRoute: boolean;
}

function bridgeSettingsOf(list: NetworkConfigList): BridgeSettings {
  const plugin = list.plugins.find((one) => one.type === 'bridge') as { bridge?: string; ipam?: { dataDir?: string; ranges?: { subnet: string; gateway: string }[][]; routes?: unknown[] } } | undefined;
  const range = plugin?.ipam?.ranges?.[0]?.[0];
  if (!plugin?.bridge || !range || !plugin.ipam?.dataDir) throw new Error(`network ${list.name}'s configuration has no bridge with a subnet and a leases dir; run \`corral down\` and \`corral up\` to make it again`);
  return { bridge: plugin.bridge, subnet: { cidr: range.subnet, gateway: range.gateway }, leases: path.join(plugin.ipam.dataDir, list.name), defaultRoute: (plugin.ipam.routes ?? []).length > 0 };
}

/** The list's portmap alone, if it has one (the pod publishes ports on this network). */
function portmapOf(list: NetworkConfigList): NetworkConfigList | undefined {
  const portmap = list.plugins.filter((plugin) => plugin.type === 'portmap');
  return portmap.length > 0 ? { ...list, plugins: portmap } : undefined;
}

const wantedAddress = (target: Attachment) => (target.capabilityArgs?.ips as string[] | undefined)?.[0]?.split('/')[0];

/** Attaches the pod's namespace to the network; returns the result to record, as CNI's bridge plugin shapes it. */
export async function attachToOne(list: NetworkConfigList, target: Attachment): Promise<CniResult> {
  const settings = bridgeSettingsOf(list);
  const holder = { id: target.containerId, ifName: target.ifName };
  const address = await leaseAddress(settings.leases, settings.subnet, holder, wantedAddress(target));
  try {
    await ensureBridge(settings.bridge, settings.subnet);
    const mac = target.capabilityArgs?.mac as string | undefined;
    const hostEnd = await linkPod({ netns: target.netns, ifName: target.ifName, bridge: settings.bridge, subnet: settings.subnet, address, defaultRoute: settings.defaultRoute, ...(mac ? { mac } : {}) });
    const result: CniResult = {
      cniVersion: list.cniVersion,
      interfaces: [{ name: settings.bridge }, { name: hostEnd }, { name: target.ifName, ...(mac ? { mac } : {}), sandbox: target.netns }],
      ips: [{ address: `${address}/${settings.subnet.cidr.split('/')[1]}`, gateway: settings.subnet.gateway, interface: 2 }],
      routes: settings.defaultRoute ? [{ dst: '0.0.0.0/0', gw: settings.subnet.gateway }] : [],
    };
    const portmap = portmapOf(list);
    if (!portmap) return result;
    try {
      return await addNetwork(portmap, target, result);
    } catch (error) {
      await deleteNetwork(portmap, target, result).catch(() => {});
      await unlinkPod(target.netns, target.ifName);
      throw error;
    }
  } catch (error) {
    await releaseAddresses(settings.leases, holder);
    throw error;
  }
}

/** One network of a pod's attachment record. */
export interface AttachedNetwork {
  readonly config: NetworkConfigList;
  readonly ifName: string;
  readonly capabilityArgs: Record<string, unknown>;
  readonly result: CniResult;
  /** Attached by Corral itself (attachToOne); absent in the records of an older Corral, which CNI DEL detaches. */
  readonly linkedByCorral?: boolean;
}

/** Detaches the pod's namespace from the network: its published ports, its interface, its address. Safe to repeat. */
export async function detachFromOne(one: AttachedNetwork, pod: { containerId: string; netns: string }): Promise<void> {
  const target = { containerId: pod.containerId, netns: pod.netns, ifName: one.ifName, capabilityArgs: one.capabilityArgs };
  if (!one.linkedByCorral) return deleteNetwork(one.config, target, one.result);
  const portmap = portmapOf(one.config);
  if (portmap) await deleteNetwork(portmap, target, one.result);
  await unlinkPod(pod.netns, one.ifName);
  await releaseAddresses(bridgeSettingsOf(one.config).leases, { id: pod.containerId, ifName: one.ifName }, one.result.ips?.[0]?.address.split('/')[0]);
}
