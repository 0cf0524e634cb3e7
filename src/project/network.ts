import { DEFAULT_NETWORK, HOST_GATEWAY, type NetworkMembership, type PodLink, type PodNetwork, type PortMapping, type Project, type ProjectNetwork } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt, whereAt } from './parse.js';
import type { Where } from './errors.js';

// ports, dns, dns_search, extra_hosts, network and networks: how a pod meets the project's networks
// and the host; and the project's networks themselves.

type Raw = Record<string, unknown>;

const byPort = (a: PortMapping, b: PortMapping) => a.containerPort - b.containerPort || a.hostPort - b.hostPort || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0);

/** "8080:80", "127.0.0.1:9000:9000/udp", "80" or 80. */
export function parsePort(value: unknown): PortMapping {
  const [spec, protocol = 'tcp'] = String(value).split('/') as [string, 'tcp' | 'udp' | undefined];
  const parts = spec.split(':');
  const containerPort = Number(parts.pop());
  const hostPort = parts.length > 0 ? Number(parts.pop()) : 0;
  const hostIp = parts.pop() ?? '';
  return { hostIp, hostPort, containerPort, protocol: protocol ?? 'tcp' };
}

function checkPort(parsed: ParsedFile, at: PathSegment[], mapping: PortMapping): void {
  for (const [what, port] of [['container', mapping.containerPort], ['host', mapping.hostPort]] as const) {
    if (port > 65535 || (what === 'container' && port < 1)) throw errorAt(parsed, at, `${what} port ${port} is out of range`, 'use a port from 1 to 65535');
  }
  if (mapping.hostIp && mapping.hostIp.split('.').some((part) => Number(part) > 255)) throw errorAt(parsed, at, `${mapping.hostIp} is not an IPv4 address`, 'write four numbers of 0-255, e.g. 127.0.0.1');
}

/** The ports a pod publishes, its own and its containers', each with where it is written. */
function portSourcesOf(podRaw: Raw, podAt: PathSegment[]): { value: unknown; at: PathSegment[] }[] {
  return [
    ...((podRaw.ports as unknown[] | undefined) ?? []).map((value, index) => ({ value, at: [...podAt, 'ports', index] })),
    ...Object.entries((podRaw.containers ?? {}) as Record<string, Raw>).flatMap(([name, container]) =>
      ((container.ports as unknown[] | undefined) ?? []).map((value, index) => ({ value, at: [...podAt, 'containers', name, 'ports', index] }))),
  ];
}

/** Where each fixed host port of the pod is written (Pod.publishedAt), once podNetworkOf has checked them; undefined when none. */
export function publishedPortsAt(podRaw: Raw, podAt: PathSegment[], parsed: ParsedFile): Record<string, Where> | undefined {
  const fixed = portSourcesOf(podRaw, podAt).map(({ value, at }) => ({ mapping: parsePort(value), at })).filter(({ mapping }) => mapping.hostPort !== 0);
  return fixed.length === 0 ? undefined : Object.fromEntries(fixed.map(({ mapping, at }) => [`${mapping.hostPort}/${mapping.protocol}`, whereAt(parsed, at)]));
}

/** The pod's network from its own keys and the ports of its containers. */
export function podNetworkOf(podRaw: Raw, podAt: PathSegment[], parsed: ParsedFile): PodNetwork {
  const ports = portSourcesOf(podRaw, podAt).map(({ value, at }) => {
    const mapping = parsePort(value);
    checkPort(parsed, at, mapping);
    return { mapping, at };
  });
  const taken = new Map<string, PathSegment[]>();
  for (const { mapping, at } of ports) {
    if (mapping.hostPort === 0) continue;
    const key = `${mapping.hostPort}/${mapping.protocol}`;
    if (taken.has(key)) throw errorAt(parsed, at, `host port ${key} is published twice in this pod`, 'give each published port its own host port');
    taken.set(key, at);
  }
  const mode = (podRaw.network as PodNetwork['mode'] | undefined) ?? 'bridge';
  if (mode !== 'bridge' && ports.length > 0) throw errorAt(parsed, ports[0]!.at, `a pod with network: ${mode} cannot publish ports`, mode === 'host' ? 'remove ports: the pod already uses the host\'s ports' : 'remove ports, or use network: bridge');
  const rawHosts = podRaw.extra_hosts;
  const extraHosts = Array.isArray(rawHosts)
    ? rawHosts.map(String).map((entry) => {
      // `=` separates when there is one (an IPv6 address has colons), else the first `:`, as compose-go does.
      const cut = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
      return { host: entry.slice(0, cut), ip: entry.slice(cut + 1) };
    })
    : Object.entries((rawHosts ?? {}) as Record<string, string>).map(([host, ip]) => ({ host, ip: String(ip) }));
  const gatewayAt = extraHosts.findIndex((extra) => extra.ip === HOST_GATEWAY);
  if (mode !== 'bridge' && gatewayAt >= 0) {
    throw errorAt(parsed, [...podAt, 'extra_hosts', Array.isArray(rawHosts) ? gatewayAt : extraHosts[gatewayAt]!.host], `host-gateway is the host's address on the pod's network, and a pod with network: ${mode} is on none`, mode === 'host' ? 'write 127.0.0.1: on the host\'s network the host is the loopback address' : 'remove the entry, or use network: bridge');
  }
  if (mode !== 'bridge' && podRaw.networks !== undefined) throw errorAt(parsed, [...podAt, 'networks'], `a pod with network: ${mode} is on no project network`, 'remove networks, or use network: bridge');
  if (mode !== 'bridge' && podRaw.links !== undefined) throw errorAt(parsed, [...podAt, 'links'], `a pod with network: ${mode} is on no project network, where links would name pods`, 'remove links, or use network: bridge');
  const links = linksOf(podRaw.links);
  return {
    mode,
    networks: mode === 'bridge' ? membershipsOf(podRaw.networks) : [],
    ports: ports.map(({ mapping }) => mapping).sort(byPort),
    dns: ((podRaw.dns as string[] | undefined) ?? []).map(String),
    dnsSearch: ((podRaw.dns_search as string[] | undefined) ?? []).map(String),
    extraHosts,
    // Only when written, so that a pod without links hashes as before.
    ...(links.length > 0 ? { links } : {}),
  };
}

/** `links: [db, "db:database"]`: pod db under its own name or another, as compose writes them. */
function linksOf(raw: unknown): PodLink[] {
  return ((raw as unknown[] | undefined) ?? []).map((entry) => {
    const [pod, alias = pod] = String(entry).split(':') as [string, string?];
    return { pod, alias };
  });
}

/** A host port published by two pods of the project is refused at the second. */
export function checkPortsAcrossPods(pods: Project['pods'], parsed: ParsedFile): void {
  const owners = new Map<string, string>();
  for (const pod of pods) {
    for (const mapping of pod.network.ports) {
      if (mapping.hostPort === 0) continue;
      const owner = owners.get(`${mapping.hostPort}/${mapping.protocol}`);
      if (owner) throw errorAt(parsed, ['pods', pod.name, 'ports'], `host port ${mapping.hostPort}/${mapping.protocol} is published by pods ${owner} and ${pod.name}`, 'give each pod its own host port');
      owners.set(`${mapping.hostPort}/${mapping.protocol}`, pod.name);
    }
  }
}

/** `networks:` of a pod as a list of names or a mapping to aliases and an address; none written: default. */
function membershipsOf(raw: unknown): NetworkMembership[] {
  if (raw === undefined) return [{ name: DEFAULT_NETWORK, aliases: [] }];
  if (Array.isArray(raw)) return raw.map((name) => ({ name: String(name), aliases: [] }));
  return Object.entries(raw as Record<string, Raw | null>).map(([name, options]) => ({
    name,
    aliases: ((options?.aliases as unknown[] | undefined) ?? []).map(String),
    ...(options?.ipv4_address !== undefined ? { ipv4Address: String(options.ipv4_address) } : {}),
    ...(options?.mac_address !== undefined ? { macAddress: String(options.mac_address).toLowerCase() } : {}),
    ...(options?.interface_name !== undefined ? { interfaceName: String(options.interface_name) } : {}),
  }));
}

/**
 * The top-level `networks:`, with `default` always there (compose makes it too), sorted by name. An
 * external one is the host's (`corral network create`): its subnet and `internal` are the host
 * network's, so writing them here is refused.
 */
export function projectNetworksOf(raw: unknown, parsed: ParsedFile): ProjectNetwork[] {
  const written = Object.entries((raw ?? {}) as Record<string, Raw | null>).map(([name, options]): ProjectNetwork => {
    if (options?.external !== true) {
      if (options?.name !== undefined) throw errorAt(parsed, ['networks', name, 'name'], `network ${name} has a name of its own, which only an external network has`, 'remove name, or add external: true to use the host network of that name');
      return { name, ...(options?.subnet !== undefined ? { subnet: String(options.subnet) } : {}), internal: options?.internal === true };
    }
    for (const key of ['subnet', 'internal'] as const) {
      if (options[key] !== undefined) throw errorAt(parsed, ['networks', name, key], `${key} of external network ${name} belongs to the host network, not to this file`, `remove ${key}; set it when you make the network (corral network create ${key === 'subnet' ? '--subnet CIDR' : '--internal'} NAME)`, { key: true });
    }
    return { name, internal: false, external: { name: String(options.name ?? name), where: whereAt(parsed, ['networks', name], { key: true }) } };
  });
  const all = written.some((network) => network.name === DEFAULT_NETWORK) ? written : [...written, { name: DEFAULT_NETWORK, internal: false }];
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Each network a pod names is one of the project's, and a fixed address lies in a subnet the file gives. */
export function checkPodNetworks(pods: Project['pods'], networks: readonly ProjectNetwork[], parsed: ParsedFile): void {
  const byName = new Map(networks.map((network) => [network.name, network]));
  for (const pod of pods) {
    const written = ((parsed.data as Raw).pods as Record<string, Raw>)[pod.name]?.networks;
    pod.network.networks.forEach((membership, index) => {
      const network = byName.get(membership.name);
      // A list names the network by its item, a mapping by its key.
      const at: PathSegment[] = ['pods', pod.name, 'networks', Array.isArray(written) ? index : membership.name];
      if (!network) throw errorAt(parsed, at, `pod ${pod.name} is on network ${membership.name}, which the project does not define`, `define it under networks: at the top (defined: ${[...byName.keys()].join(', ')}), or correct the name`, { key: !Array.isArray(written) });
      if (membership.interfaceName !== undefined && !INTERFACE_NAME.test(membership.interfaceName)) throw errorAt(parsed, [...at, 'interface_name'], `interface_name ${membership.interfaceName} of pod ${pod.name} is not an interface name`, 'use at most 15 letters, digits, -, _ and ., e.g. eth1 or backend0');
      const names = pod.network.networks.map((one, order) => one.interfaceName ?? `eth${order}`);
      if (names.indexOf(names[index]!) !== index) throw errorAt(parsed, [...at, 'interface_name'], `pod ${pod.name} would have two interfaces named ${names[index]}`, 'give each network of the pod its own interface_name');
      const rawMembership = Array.isArray(written) ? undefined : (written as Record<string, Raw | null> | undefined)?.[membership.name];
      if (rawMembership?.ipv6_address !== undefined) throw errorAt(parsed, [...at, 'ipv6_address'], `ipv6_address of pod ${pod.name}: network ${membership.name} has no IPv6 (Corral's networks are IPv4 only)`, 'remove ipv6_address, or use ipv4_address');
      if (membership.ipv4Address === undefined) return;
      // The host network's subnet is known when the pod joins it; CNI refuses an address outside it then.
      if (network.external) return;
      if (network.subnet === undefined) throw errorAt(parsed, [...at, 'ipv4_address'], `ipv4_address ${membership.ipv4Address} of pod ${pod.name} needs a subnet on network ${membership.name}`, `set networks.${membership.name}.subnet to a subnet that holds it`);
      if (!inSubnet(network.subnet, membership.ipv4Address)) throw errorAt(parsed, [...at, 'ipv4_address'], `ipv4_address ${membership.ipv4Address} of pod ${pod.name} is not in network ${membership.name}'s subnet ${network.subnet}`, 'choose an address in the subnet, or change the subnet');
    });
  }
}

/** What the kernel takes as an interface name (IFNAMSIZ: 15 characters). */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Each pod a link names is a pod of the project that shares a network with the linking pod. */
export function checkPodLinks(pods: Project['pods'], parsed: ParsedFile): void {
  const byName = new Map(pods.map((pod) => [pod.name, pod]));
  for (const pod of pods) {
    (pod.network.links ?? []).forEach((link, index) => {
      const at: PathSegment[] = ['pods', pod.name, 'links', index];
      const target = byName.get(link.pod);
      if (!target) throw errorAt(parsed, at, `pod ${pod.name} links to ${link.pod}, which is no pod of the project`, `name a pod (pods: ${[...byName.keys()].join(', ')})`);
      const shared = target.network.networks.some((theirs) => pod.network.networks.some((ours) => ours.name === theirs.name));
      if (!shared) throw errorAt(parsed, at, `pod ${pod.name} links to ${link.pod}, with which it shares no network`, `put both on one network (networks:), or remove the link`);
    });
  }
}

/** Whether the IPv4 address lies in the CIDR (the loader stands below network/, so it has its own few lines). */
function inSubnet(cidr: string, address: string): boolean {
  const toNumber = (ip: string) => ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(toNumber(base) / size) * size;
  const value = toNumber(address);
  return value >= start && value < start + size;
}
