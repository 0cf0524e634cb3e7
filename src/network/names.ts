import { readFile, writeFile } from 'node:fs/promises';
import type { Pod, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { readPodAttachment, type PodAttachment } from './pod-network.js';
import { whenMissing } from '../state/read.js';

// Pods find each other by name: every pod's /etc/hosts lists the pods it shares a network with, as
// `<pod>`, `<pod>.<project>` and their aliases on that network, rewritten when pods come and go. The
// file is rewritten in place (same inode): containers see it through a bind mount, which a rename
// would leave pointing at the old file.

/** The pods' addresses: pod name -> network name -> address. */
export type PodAddresses = ReadonlyMap<string, ReadonlyMap<string, string>>;

/**
 * Its own names first, then its networks in its order, each with the other pods on it (sorted); a
 * name already listed (a pod on two of its networks) keeps its first address, which is the one a
 * lookup finds anyway.
 */
export function hostsFileFor(pod: Pod, project: Project, addresses: PodAddresses): string {
  const own = addresses.get(pod.name);
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
  ];
  const listed = new Set<string>();
  const list = (ip: string, names: readonly string[]) => {
    const fresh = [...new Set(names)].filter((name) => !listed.has(name));
    for (const name of fresh) listed.add(name);
    if (fresh.length > 0) lines.push(`${ip}\t${fresh.join(' ')}`);
  };
  const firstOwn = pod.network.networks.map((membership) => own?.get(membership.name)).find((ip) => ip !== undefined);
  list(firstOwn ?? '127.0.1.1', [pod.hostname, pod.name, `${pod.name}.${project.name}`]);
  for (const membership of pod.network.networks) {
    const ip = own?.get(membership.name);
    if (ip) list(ip, membership.aliases);
  }
  const aliasesOf = (name: string, network: string) => project.pods.find((other) => other.name === name)?.network.networks.find((membership) => membership.name === network)?.aliases ?? [];
  const others = [...addresses].filter(([name]) => name !== pod.name).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const membership of pod.network.networks) {
    for (const [name, networks] of others) {
      const ip = networks.get(membership.name);
      if (ip) list(ip, [name, `${name}.${project.name}`, ...aliasesOf(name, membership.name)]);
    }
  }
  for (const extra of pod.network.extraHosts) lines.push(`${extra.ip}\t${extra.host}`);
  return `${lines.join('\n')}\n`;
}

/** One pod's addresses by network, from its attachment. */
export function addressesOf(attachment: PodAttachment): Map<string, string> {
  return new Map(attachment.networks.filter((one) => one.ip).map((one) => [one.network, one.ip]));
}

/** nameserver lines from the file, else the host's, without loopback servers a pod cannot reach. */
export async function resolvConfFor(pod: Pod): Promise<string> {
  // A host without /etc/resolv.conf has no servers to pass on; an unreadable one is an error.
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(whenMissing(''));
  const hostServers = [...host.matchAll(/^nameserver\s+(\S+)/gm)].map((match) => match[1]!);
  const hostSearch = /^search\s+(.+)$/m.exec(host)?.[1]?.split(/\s+/) ?? [];
  const reachable = pod.network.mode === 'host' ? hostServers : hostServers.filter((server) => !server.startsWith('127.'));
  const servers = pod.network.dns.length > 0 ? pod.network.dns : reachable;
  const search = pod.network.dnsSearch.length > 0 ? pod.network.dnsSearch : hostSearch;
  return [...servers.map((server) => `nameserver ${server}`), ...(search.length > 0 ? [`search ${search.join(' ')}`] : []), ''].join('\n');
}

/** The pods' addresses on the project's networks, by pod name. */
export async function podAddresses(context: RuntimeContext, project: Project): Promise<PodAddresses> {
  const addresses = new Map<string, Map<string, string>>();
  for (const pod of project.pods) {
    const attached = await readPodAttachment(context, pod.name);
    if (attached) addresses.set(pod.name, addressesOf(attached));
  }
  return addresses;
}

/** Rewrites /etc/hosts of every pod of the project that has a sandbox. */
export async function refreshHostsFiles(context: RuntimeContext, project: Project, existing: readonly string[]): Promise<void> {
  const addresses = await podAddresses(context, project);
  await Promise.all(project.pods.filter((pod) => existing.includes(pod.name)).map((pod) =>
    writeFile(context.paths.pod(pod.name).hosts, hostsFileFor(pod, project, addresses), { mode: 0o644 })));
}
