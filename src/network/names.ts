import { open, readFile, writeFile } from 'node:fs/promises';
import { HOST_GATEWAY, type Pod, type Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { readPodAttachment, runDirAttachments, type PodAttachment } from './pod-network.js';
import { hostNetworkOfCniName, withHostNetworks } from './host-network.js';
import { hostNetworkPaths, projectPaths, type Dirs } from '../state/paths.js';
import { namesInDir, whenMissing } from '../state/read.js';

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
export function hostsFileFor(pod: Pod, project: Project, addresses: PodAddresses, gateway?: string): string {
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
  const aliasesOf = (name: string, network: string) => project.pods.find((other) => other.name === name)?.network.networks.find((membership) => membership.name === network)?.aliases ?? [];
  const firstOwn = pod.network.networks.map((membership) => own?.get(membership.name)).find((ip) => ip !== undefined);
  list(firstOwn ?? '127.0.1.1', [pod.hostname, pod.name, `${pod.name}.${project.name}`]);
  for (const membership of pod.network.networks) {
    const ip = own?.get(membership.name);
    const several = namesOfSeveral(addresses, membership.name, aliasesOf);
    if (ip) list(ip, membership.aliases.filter((alias) => !several.has(alias)));
  }
  const others = [...addresses].filter(([name]) => name !== pod.name).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const membership of pod.network.networks) {
    const several = namesOfSeveral(addresses, membership.name, aliasesOf);
    for (const [name, networks] of others) {
      const ip = networks.get(membership.name);
      if (ip) list(ip, [name, `${name}.${project.name}`, ...aliasesOf(name, membership.name)].filter((one) => !several.has(one)));
    }
  }
  // compose's links: another pod under a name of this pod's own, at its address on the first network they share.
  for (const link of pod.network.links ?? []) {
    const theirs = addresses.get(link.pod);
    const ip = pod.network.networks.map((membership) => theirs?.get(membership.name)).find((address) => address !== undefined);
    if (ip) list(ip, [link.alias]);
  }
  // host-gateway (compose's extra_hosts): the host's address on the pod's first network; left out until the pod is attached.
  for (const extra of pod.network.extraHosts) {
    const ip = extra.ip === HOST_GATEWAY ? gateway : extra.ip;
    if (ip) lines.push(`${ip}\t${extra.host}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The host's address on the pod's first network: its bridge's gateway, as CNI gave it. */
export function gatewayOf(attachment: PodAttachment | undefined): string | undefined {
  return attachment?.networks[0]?.result.ips?.find((ip) => ip.gateway)?.gateway;
}

/** The gateway for a pod whose extra_hosts name host-gateway (its attachment read only then). */
async function gatewayFor(context: RuntimeContext, pod: Pod): Promise<string | undefined> {
  if (!pod.network.extraHosts.some((extra) => extra.ip === HOST_GATEWAY)) return undefined;
  return gatewayOf(await readPodAttachment(context, pod.name));
}

/**
 * The aliases that several pods carry on a network (the replicas of a service): left out of hosts
 * files, which give one address a lookup, so that the resolver answers them with every address.
 */
function namesOfSeveral(addresses: PodAddresses, network: string, aliasesOf: (pod: string, network: string) => readonly string[]): Set<string> {
  const carriers = new Map<string, number>();
  for (const [name, networks] of addresses) {
    if (!networks.has(network)) continue;
    for (const alias of new Set(aliasesOf(name, network))) carriers.set(alias, (carriers.get(alias) ?? 0) + 1);
  }
  return new Set([...carriers].filter(([, count]) => count > 1).map(([alias]) => alias));
}

/** One pod's addresses by network, from its attachment. */
export function addressesOf(attachment: PodAttachment): Map<string, string> {
  return new Map(attachment.networks.filter((one) => one.ip).map((one) => [one.network, one.ip]));
}

/**
 * nameserver lines from the file, else the resolver on the pod's network (`resolver`: it knows the
 * pods and forwards the rest to the host's servers), else the host's without loopback servers a pod
 * cannot reach.
 */
export async function resolvConfFor(pod: Pod, options: { readonly resolver?: string } = {}): Promise<string> {
  // A host without /etc/resolv.conf has no servers to pass on; an unreadable one is an error.
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(whenMissing(''));
  const hostServers = [...host.matchAll(/^nameserver\s+(\S+)/gm)].map((match) => match[1]!);
  const hostSearch = /^search\s+(.+)$/m.exec(host)?.[1]?.split(/\s+/) ?? [];
  const reachable = pod.network.mode === 'host' ? hostServers : hostServers.filter((server) => !server.startsWith('127.'));
  const servers = pod.network.dns.length > 0 ? pod.network.dns : options.resolver ? [options.resolver] : reachable;
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

/**
 * Rewrites /etc/hosts of every pod of the project that has a sandbox; with host networks, their
 * shared sections too, and those of the other projects' pods on them.
 */
export async function refreshHostsFiles(context: RuntimeContext, project: Project, existing: readonly string[]): Promise<void> {
  const addresses = await podAddresses(context, project);
  const write = (members: readonly HostNetworkMember[]) => Promise.all(project.pods.filter((pod) => existing.includes(pod.name)).map(async (pod) => {
    const own = hostsFileFor(pod, project, addresses, await gatewayFor(context, pod));
    const member = members.find((one) => one.project === project.name && one.pod === pod.name);
    return writeFile(context.paths.pod(pod.name).hosts, `${own}${sharedSection(member, members, own)}`, { mode: 0o644 });
  }));
  if (!(await anyHostNetwork(context.dirs))) {
    await write([]);
    return;
  }
  await withHostNetworks(context.dirs, 'rewrite the names on host networks', async () => {
    const members = await hostNetworkMembers(context.dirs);
    await write(members);
    await rewriteSharedSections(context.dirs, members, project.name);
  });
}

// Names across projects. A pod on a host network (external: true) finds the pods of other projects
// on it by `<pod>.<project>`, by `<pod>` and by their aliases where its own project gives those names
// to nobody. They are the last section of its /etc/hosts, after SHARED_MARK: every project that joins
// or leaves a host network rewrites that section of every pod on it (under the host networks' lock,
// reading the other projects' attachment records, never their project files), and the rest of each
// file stays its own project's.

const SHARED_MARK = '# pods of other projects on shared networks';

/** A pod on a host network, as its attachment record says. */
export interface HostNetworkMember {
  readonly project: string;
  readonly pod: string;
  /** Its attachments to host networks: CNI name, address, aliases. */
  readonly networks: readonly { readonly cniName: string; readonly ip: string; readonly aliases: readonly string[] }[];
}

/** Every pod of the run dir's projects that is on a host network. */
export async function hostNetworkMembers(dirs: Dirs): Promise<HostNetworkMember[]> {
  return (await runDirAttachments(dirs, 'the names on host networks')).map(({ project, pod, attachment }) => ({
    project, pod,
    networks: attachment.networks.filter((one) => one.ip && hostNetworkOfCniName(one.config.name) !== undefined)
      .map((one) => ({ cniName: one.config.name, ip: one.ip, aliases: one.aliases ?? [] })),
  })).filter((member) => member.networks.length > 0);
}

/** The names a hosts file already gives (every field after the address). */
function namesListedIn(text: string): Set<string> {
  return new Set(text.split('\n').filter((line) => line && !line.startsWith('#')).flatMap((line) => line.split(/\s+/).slice(1)));
}

/** The section of one pod's hosts file: the other projects' pods on its host networks, names not already given. */
function sharedSection(member: HostNetworkMember | undefined, members: readonly HostNetworkMember[], own: string): string {
  if (!member) return '';
  const listed = namesListedIn(own);
  const lines: string[] = [];
  for (const network of member.networks) {
    for (const peer of members.filter((other) => other.project !== member.project)) {
      const on = peer.networks.find((one) => one.cniName === network.cniName);
      if (!on) continue;
      const fresh = [`${peer.pod}.${peer.project}`, peer.pod, ...on.aliases].filter((name) => !listed.has(name));
      for (const name of fresh) listed.add(name);
      if (fresh.length > 0) lines.push(`${on.ip}\t${fresh.join(' ')}`);
    }
  }
  return lines.length > 0 ? `${SHARED_MARK}\n${lines.join('\n')}\n` : '';
}

/** A hosts file's own part: all before the shared section. */
const ownPartOf = (text: string) => text.split(`${SHARED_MARK}\n`)[0]!;

/**
 * Rewrites the file in place (same inode, seen through the containers' bind mounts) when its text
 * changes; a pod whose file is gone (its project going down) is left alone.
 */
async function rewriteInPlace(file: string, text: (current: string) => string): Promise<void> {
  const handle = await open(file, 'r+').catch(whenMissing(undefined));
  if (!handle) return;
  try {
    const current = await handle.readFile('utf8');
    const next = text(current);
    if (next === current) return;
    await handle.truncate(0);
    await handle.write(next, 0, 'utf8');
  } finally {
    await handle.close();
  }
}

/** Whether the host has a host network at all: without, no pod has names of other projects. */
async function anyHostNetwork(dirs: Dirs): Promise<boolean> {
  return (await namesInDir(hostNetworkPaths(dirs).records)).some((file) => file.endsWith('.json'));
}

/** Rewrites the shared section of every pod on a host network but those of `except` (rewritten whole by their project). */
async function rewriteSharedSections(dirs: Dirs, members: readonly HostNetworkMember[], except?: string): Promise<void> {
  await Promise.all(members.filter((member) => member.project !== except).map((member) =>
    rewriteInPlace(projectPaths(dirs, member.project).pod(member.pod).hosts, (current) => `${ownPartOf(current)}${sharedSection(member, members, ownPartOf(current))}`)));
}

/** After pods left host networks (`down`): the other projects' pods no longer list them. */
export async function refreshSharedNames(dirs: Dirs): Promise<void> {
  if (!(await anyHostNetwork(dirs))) return;
  await withHostNetworks(dirs, 'rewrite the names on host networks', async () => rewriteSharedSections(dirs, await hostNetworkMembers(dirs)));
}
