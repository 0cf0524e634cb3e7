import { readFile, writeFile } from 'node:fs/promises';
import type { Pod, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { readPodAttachment } from './pod-network.js';
import { whenMissing } from '../state/read.js';

// Pods find each other by name: every pod's /etc/hosts lists the project's pods as `<pod>` and
// `<pod>.<project>`, rewritten when pods come and go. The file is rewritten in place (same inode):
// containers see it through a bind mount, which a rename would leave pointing at the old file.

export function hostsFileFor(pod: Pod, project: Project, addresses: ReadonlyMap<string, string>): string {
  const own = addresses.get(pod.name);
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${own ?? '127.0.1.1'}\t${[...new Set([pod.hostname, pod.name, `${pod.name}.${project.name}`])].join(' ')}`,
  ];
  for (const [name, ip] of [...addresses].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (name !== pod.name) lines.push(`${ip}\t${name} ${name}.${project.name}`);
  }
  for (const extra of pod.network.extraHosts) lines.push(`${extra.ip}\t${extra.host}`);
  return `${lines.join('\n')}\n`;
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

/** The pods' addresses on the project network, by pod name. */
export async function podAddresses(context: RuntimeContext, project: Project): Promise<Map<string, string>> {
  const addresses = new Map<string, string>();
  for (const pod of project.pods) {
    const attached = await readPodAttachment(context, pod.name);
    if (attached?.ip) addresses.set(pod.name, attached.ip);
  }
  return addresses;
}

/** Rewrites /etc/hosts of every pod of the project that has a sandbox. */
export async function refreshHostsFiles(context: RuntimeContext, project: Project, existing: readonly string[]): Promise<void> {
  const addresses = await podAddresses(context, project);
  await Promise.all(project.pods.filter((pod) => existing.includes(pod.name)).map((pod) =>
    writeFile(context.paths.pod(pod.name).hosts, hostsFileFor(pod, project, addresses), { mode: 0o644 })));
}
