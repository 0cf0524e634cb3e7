import { createHash } from 'node:crypto';
import type { NetworkConfigList } from './cni.js';
import type { Subnet } from './subnet.js';

// A Corral network's CNI configuration list (bridge with host-local IPAM; portmap for published
// ports), as a project's networks and the host networks have it, and as one pod is attached with it.
// Outbound NAT and the forwarding accepts are the network's rules, made once with it
// (network-rules.ts), not the plugins' per-pod ones (the bridge plugin's ipMasq, the firewall plugin):
// those were four plugin processes and a dozen iptables calls on every ADD and DEL, most of the time
// a bridged pod took to attach (README: Networking, the backend measured).

/** A Corral bridge's name (`cr-` and a hash of what names the network host-wide): isolation and the leak checker know the prefix. */
export const bridgeOf = (key: string) => `cr-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;

/** What a network's CNI configuration list is made of. */
export interface ConfigListOptions {
  /** The CNI network name (cniNetworkName, or a host network's). */
  readonly name: string;
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly internal: boolean;
  /** host-local's dir of leases: the project's, or the host networks' (shared by every project on them). */
  readonly leases: string;
}

/** The network's CNI configuration list, as every pod on it is attached with (podConfig narrows it). */
export function configList({ name, bridge, subnet, internal, leases }: ConfigListOptions): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name,
    internal,
    plugins: [
      {
        // ips: a pod's ipv4_address, given to host-local through runtimeConfig.
        type: 'bridge', bridge, isGateway: true, ipMasq: false, hairpinMode: true, capabilities: { ips: true },
        ipam: {
          type: 'host-local', ranges: [[{ subnet: subnet.cidr, gateway: subnet.gateway }]], dataDir: leases,
          // An internal network has no way out; a pod gets its default route from one network only (podConfig).
          routes: internal ? [] : [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** How one pod's attachment to a network differs from the network's list. */
export interface PodConfigOptions {
  /** The pod's first network with a way out gives it its default route (a second would fail the ADD). */
  readonly defaultRoute: boolean;
  /** It publishes ports on this network: portmap runs (for the others it would only cost a process per ADD and DEL). */
  readonly ports: boolean;
}

/** The list one pod is attached with, narrowed from the network's. */
export function podConfig(list: NetworkConfigList, options: PodConfigOptions): NetworkConfigList {
  const routed = options.defaultRoute ? list.plugins : list.plugins.map((plugin) => (plugin.type === 'bridge' ? { ...plugin, ipam: { ...(plugin.ipam as Record<string, unknown>), routes: [] } } : plugin));
  const plugins = options.ports ? routed : routed.filter((plugin) => plugin.type !== 'portmap');
  return plugins.length === list.plugins.length && plugins.every((plugin, index) => plugin === list.plugins[index]) ? list : { ...list, plugins };
}
