import { createServer, type Server } from 'node:net';
import { rename, rm } from 'node:fs/promises';
import { DEFAULT_NETWORK, type NetworkMembership, type Pod, type PortMapping, type Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { projectPaths, type Dirs } from '../state/paths.js';
import { isValidProjectName } from '../project/name.js';
import { canonicalJson } from '../canonical-json.js';
import { StateReadError } from '../state/errors.js';
import { isRecord, namesInDir, readStateJson } from '../state/read.js';
import type { Attachment, CniResult, NetworkConfigList } from './cni.js';
import { attachToOne, type AttachedNetwork, detachFromOne } from './attach-one.js';
import { readHostNetwork, withHostNetworks } from './host-network.js';
import { ensureProjectNetwork, missingHostNetwork, type ProjectNetworkState } from './project-network.js';
import { podConfig, type PodConfigOptions } from './config-list.js';
import { crashPoint } from '../crash-point.js';
import { log } from '../log.js';
import { ProjectError } from '../project/errors.js';
import { settleAllThenThrowFirst } from '../settle-all.js';

// A pod's place on the project's networks: its pinned network namespace attached once to each network
// it is on (attach-one.ts: eth0, eth1, ... in the order written), whatever number of containers share
// it, with its published ports on its first network that has a way out; detached (in reverse) before
// the namespace goes. What was attached is recorded beside the pod, so the detach undoes exactly
// what the attach did.

/** The pod on one network. */
export interface NetworkAttachment extends AttachedNetwork {
  /** The network's name in the project file. */
  readonly network: string;
  /** The pod's address on this network. */
  readonly ip: string;
  /**
   * Its aliases on this network (absent: none), recorded for the pods of other projects on a host
   * network, which find it by them without its project file.
   */
  readonly aliases?: readonly string[];
}

export interface PodAttachment {
  readonly containerId: string;
  readonly netns: string;
  /** In the order attached. */
  readonly networks: readonly NetworkAttachment[];
  /** The pod's address on its first network (eth0). */
  readonly ip: string;
  /** The networks as asked for (name, fixed address, MAC address, interface name), to notice a change. */
  readonly joined: readonly { readonly name: string; readonly ipv4Address?: string; readonly macAddress?: string; readonly interfaceName?: string }[];
  /** The ports as asked for (0 = any), to notice a change. */
  readonly requested: readonly PortMapping[];
  /** The ports as published (host ports chosen). */
  readonly ports: readonly PortMapping[];
}

/** What a Corral before named networks recorded: one attachment to the project network, eth0. */
interface SingleNetworkRecord {
  readonly containerId: string;
  readonly netns: string;
  readonly config: NetworkConfigList;
  readonly result: CniResult;
  readonly ip: string;
  readonly requested: readonly PortMapping[];
  readonly ports: readonly PortMapping[];
}

function fromSingleNetwork(record: PodAttachment | SingleNetworkRecord): PodAttachment {
  if ('networks' in record) return record;
  const { config, result, ip, ...rest } = record;
  return { ...rest, ip, joined: [{ name: DEFAULT_NETWORK }], networks: [{ network: DEFAULT_NETWORK, ifName: 'eth0', config, result, ip, capabilityArgs: { portMappings: portMappingsArg(record.ports) } }] };
}

export class PortInUseError extends Error {}

/**
 * Without the record, CNI DEL cannot undo exactly what ADD did, and a new ADD would leave the old
 * lease and port rules behind: `down` removes the pod (its veth goes with the namespace) and sweeps
 * what is left of the network; `up` then attaches it anew.
 */
const attachmentFix = (podName: string) => `run \`corral down\` (it removes pod ${podName} and sweeps its network rules without this record), then \`corral up\``;

const isAttachment = (value: unknown) => isRecord(value) && typeof value.containerId === 'string' && typeof value.netns === 'string'
  && (Array.isArray(value.networks) ? Array.isArray(value.joined) && value.networks.every((one) => isRecord(one) && isRecord(one.config) && typeof one.ifName === 'string') : isRecord(value.config))
  && Array.isArray(value.requested) && Array.isArray(value.ports);

/** Reads a record of either shape, as the current one. */
export async function readAttachmentFile(file: string, podName: string): Promise<PodAttachment | undefined> {
  const record = await readStateJson<PodAttachment | SingleNetworkRecord>(file, { fix: attachmentFix(podName), isValid: isAttachment, shape: 'a pod network attachment' });
  return record && fromSingleNetwork(record);
}

/**
 * The attachments of every pod of the run dir's projects, by project and pod (sorted). Another
 * project's damaged record is its own `down`'s to repair: its pod is left out of `purpose` meanwhile.
 */
export async function runDirAttachments(dirs: Dirs, purpose: string): Promise<{ project: string; pod: string; attachment: PodAttachment }[]> {
  const found: { project: string; pod: string; attachment: PodAttachment }[] = [];
  for (const project of (await namesInDir(dirs.run)).filter(isValidProjectName).sort()) {
    const paths = projectPaths(dirs, project);
    for (const pod of (await namesInDir(paths.podsRun)).sort()) {
      const attachment = await readAttachmentFile(paths.pod(pod).network, pod).catch((error: unknown) => {
        if (!(error instanceof StateReadError)) throw error;
        log.warn(`${error.message}; pod ${pod} of project ${project} is left out of ${purpose}`);
        return undefined;
      });
      if (attachment) found.push({ project, pod, attachment });
    }
  }
  return found;
}

/** The pod's attachment as recorded, or undefined when it has none. */
export async function readPodAttachment(context: RuntimeContext, podName: string): Promise<PodAttachment | undefined> {
  return readAttachmentFile(context.paths.pod(podName).network, podName);
}

/** Binds the port for a moment: the way to know that no program on the host holds it. */
async function tryBind(mapping: PortMapping): Promise<number> {
  const host = mapping.hostIp || '0.0.0.0';
  // node:dgram (and the cluster module it loads) for UDP ports only: every supervisor loads this file.
  const { createSocket } = mapping.protocol === 'udp' ? await import('node:dgram') : { createSocket: undefined };
  return new Promise((resolve, reject) => {
    if (createSocket) {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(mapping.hostPort, host, () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
      return;
    }
    const server: Server = createServer();
    server.once('error', reject);
    server.listen(mapping.hostPort, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const samePorts = (a: readonly PortMapping[], b: readonly PortMapping[]) => canonicalJson(a) === canonicalJson(b);

/** A host port another project's pod publishes: DNAT rules take no socket, so binding it would succeed. */
interface PublishedElsewhere { readonly project: string; readonly pod: string; readonly mapping: PortMapping }

/** Whether two publications meet: one port and protocol, on one address or on all of them. */
const samePublishedPort = (a: PortMapping, b: PortMapping) => a.hostPort === b.hostPort && a.protocol === b.protocol && (a.hostIp === b.hostIp || [a.hostIp, b.hostIp].some((ip) => ip === '' || ip === '0.0.0.0'));

/** The ports other projects' pods publish now, from their attachments in the run dir. */
async function portsOfOtherProjects(context: RuntimeContext): Promise<PublishedElsewhere[]> {
  const others = (await runDirAttachments(context.dirs, 'the check of host ports')).filter((one) => one.project !== context.project);
  return others.flatMap(({ project, pod, attachment }) => attachment.ports.map((mapping) => ({ project, pod, mapping })));
}

/** A fixed host port that another Corral project publishes: at its line in the file, naming the other. */
function publishedByAnotherProject(project: Project, pod: Pod, mapping: PortMapping, owner: PublishedElsewhere): ProjectError {
  const key = `${mapping.hostPort}/${mapping.protocol}`;
  const where = project.publishedPortsAt?.[pod.name]?.[key] ?? { file: project.file, line: 0, col: 0, path: `pods.${pod.name}.ports` };
  return new ProjectError(`host port ${key} of pod ${pod.name} is already published by project ${owner.project} (pod ${owner.pod})`, where,
    `publish another host port here, or take that project down first: corral -p ${owner.project} down`);
}

/**
 * Refuses, before anything starts, host ports that another program holds or another Corral project
 * publishes. Pods whose published ports are unchanged keep theirs and are not checked.
 */
export async function checkHostPorts(context: RuntimeContext, project: Project): Promise<void> {
  let elsewhere: PublishedElsewhere[] | undefined;
  for (const pod of project.pods) {
    if (pod.network.mode !== 'bridge' || pod.network.ports.length === 0) continue;
    const attached = await readPodAttachment(context, pod.name);
    if (attached && samePorts(attached.requested, pod.network.ports)) continue;
    for (const mapping of pod.network.ports.filter((port) => port.hostPort !== 0)) {
      if (attached?.ports.some((port) => port.hostPort === mapping.hostPort && port.protocol === mapping.protocol)) continue;
      elsewhere ??= await portsOfOtherProjects(context);
      const owner = elsewhere.find((other) => samePublishedPort(other.mapping, mapping));
      if (owner) throw publishedByAnotherProject(project, pod, mapping, owner);
      await tryBind(mapping).catch((error: NodeJS.ErrnoException) => {
        const where = `${mapping.hostIp || '0.0.0.0'}:${mapping.hostPort}/${mapping.protocol}`;
        throw new PortInUseError(error.code === 'EADDRINUSE'
          ? `host port ${where} of pod ${pod.name} is already in use on this host; stop what holds it or publish another port in ${project.file}`
          : `cannot publish ${where} of pod ${pod.name}: ${error.message}`);
      });
    }
  }
}

function addressIn(result: CniResult): string {
  return (result.ips?.[0]?.address ?? '').split('/')[0] ?? '';
}

/** Where the record of an attachment waits while it is being detached. */
const detachingRecordOf = (record: string) => `${record}.detaching`;

/**
 * CNI DEL of the pod's attachment, if it has one, or of one whose detach a crash interrupted. The
 * record is moved aside first: a crash during DEL (or right after it) once left it saying "attached",
 * and the next `up` kept a pod whose eth0 was gone. Set aside, it says "detaching", and the next
 * detach, or the next attach before it adds, runs DEL again (DEL of what is gone is no error in CNI).
 */
export async function detachPod(context: RuntimeContext, podName: string): Promise<void> {
  const record = context.paths.pod(podName).network;
  const detaching = detachingRecordOf(record);
  await rename(record, detaching).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  let attached: PodAttachment | undefined;
  try {
    attached = await readAttachmentFile(detaching, podName);
  } catch (error) {
    if (!(error instanceof StateReadError)) throw error;
    // Without it DEL cannot run; its veth goes with the namespace, and down sweeps the rules that name the network.
    log.warn(`${error.message}: the record of pod ${podName}'s network attachment is removed, and \`corral down\` sweeps what it recorded`);
    await rm(detaching, { recursive: true, force: true });
    return;
  }
  if (!attached) return;
  // Every network's DEL runs even if one fails, side by side (each waits for the kernel's removal of
  // its veth); the first failure is thrown, the record kept aside for the next try.
  const attachment = attached;
  await settleAllThenThrowFirst([...attachment.networks].reverse().map((one) => detachFromOne(one, attachment)));
  crashPoint('detach: CNI DEL done');
  await rm(detaching, { force: true });
}

function portMappingsArg(ports: readonly PortMapping[]) {
  return ports.map((port) => ({ hostPort: port.hostPort, containerPort: port.containerPort, protocol: port.protocol, ...(port.hostIp ? { hostIP: port.hostIp } : {}) }));
}

const joinedOf = (pod: Pod) => pod.network.networks.map(({ name, ipv4Address, macAddress, interfaceName }) => ({
  name, ...(ipv4Address !== undefined ? { ipv4Address } : {}), ...(macAddress !== undefined ? { macAddress } : {}), ...(interfaceName !== undefined ? { interfaceName } : {}),
}));

/**
 * ADD to a host network under the host networks' lock, as it is then: `network rm` cannot take it
 * away meanwhile, and finds the pod's veth on its bridge from then on.
 */
async function addToHostNetwork(context: RuntimeContext, project: Project, membership: NetworkMembership, options: PodConfigOptions, target: Attachment): Promise<{ config: NetworkConfigList; result: CniResult }> {
  const network = project.networks.find((one) => one.name === membership.name)!;
  const external = network.external!;
  return withHostNetworks(context.dirs, `attach pod ${target.containerId} to network ${external.name}`, async () => {
    const state = await readHostNetwork(context.dirs, external.name);
    if (!state) throw missingHostNetwork(network, external);
    const config = podConfig(state.config, options);
    return { config, result: await attachToOne(config, target) };
  });
}

/**
 * Attaches the pod's network namespace to each of its networks (once; again only when its ports or
 * networks changed). Pods with network: host or none, or without a pinned network namespace, get no
 * attachment. `firstAddress`: the address asked for on the first network when it is attached now
 * (a restore's, which wants the address its processes were dumped with); unlike ipv4_address it is
 * not recorded in `joined`, so the next `up` keeps the attachment as it is.
 */
export async function attachPod(context: RuntimeContext, project: Project, pod: Pod, netns: string | undefined, options: { firstAddress?: string } = {}): Promise<PodAttachment | undefined> {
  if (pod.network.mode !== 'bridge' || !netns) return undefined;
  const attached = await readPodAttachment(context, pod.name);
  const joined = joinedOf(pod);
  if (attached && attached.netns === netns && samePorts(attached.requested, pod.network.ports) && canonicalJson(attached.joined) === canonicalJson(joined)) return attached;
  // What is attached differs, or a detach was interrupted: gone first.
  await detachPod(context, pod.name);
  const networks = await Promise.all(pod.network.networks.map((membership) => ensureProjectNetwork(context, project, membership.name)));
  const ports: PortMapping[] = [];
  for (const mapping of pod.network.ports) ports.push(mapping.hostPort === 0 ? { ...mapping, hostPort: await tryBind(mapping) } : mapping);
  // The first network with a way out gives the default route and publishes the ports; with none, the first publishes them.
  const outward = Math.max(0, networks.findIndex((network) => !network.internal));
  const containerId = `${context.project}.${pod.name}`;
  const attachments: NetworkAttachment[] = [];
  try {
    for (const [index, network] of networks.entries()) {
      const membership = pod.network.networks[index]!;
      attachments.push(await attachToNetwork({ context, project, membership, network, containerId, netns, index, outward, ports, firstAddress: options.firstAddress }));
    }
  } catch (error) {
    // Nothing is recorded of a half-made attachment: what was made goes now, not at some later DEL.
    for (const made of attachments.reverse()) await detachFromOne(made, { containerId, netns }).catch(() => {});
    throw error;
  }
  crashPoint('attach: CNI ADD done');
  const attachment: PodAttachment = { containerId, netns, networks: attachments, ip: attachments[0]?.ip ?? '', joined, requested: pod.network.ports, ports };
  await writeJsonAtomic(context.paths.pod(pod.name).network, attachment);
  return attachment;
}

/** One network of a pod to attach, at its place in the pod's list. */
interface NetworkToAttach {
  readonly context: RuntimeContext;
  readonly project: Project;
  readonly membership: NetworkMembership;
  readonly network: ProjectNetworkState;
  readonly containerId: string;
  readonly netns: string;
  readonly index: number;
  /** The index of the first network with a way out: it gives the default route and publishes the ports. */
  readonly outward: number;
  readonly ports: readonly PortMapping[];
  /** The address asked for on the first network (a restore's). */
  readonly firstAddress: string | undefined;
}

async function attachToNetwork({ context, project, membership, network, containerId, netns, index, outward, ports, firstAddress }: NetworkToAttach): Promise<NetworkAttachment> {
  const listOptions = { defaultRoute: index === outward && !network.internal, ports: index === outward && ports.length > 0 };
  const address = membership.ipv4Address ?? (index === 0 ? firstAddress : undefined);
  const capabilityArgs = {
    ...(index === outward ? { portMappings: portMappingsArg(ports) } : {}),
    ...(address !== undefined ? { ips: [`${address}/${network.subnet.cidr.split('/')[1]}`] } : {}),
    ...(membership.macAddress !== undefined ? { mac: membership.macAddress } : {}),
  };
  const target = { containerId, netns, ifName: membership.interfaceName ?? `eth${index}`, capabilityArgs };
  const isExternal = project.networks.some((one) => one.name === membership.name && one.external);
  const { config, result } = isExternal
    ? await addToHostNetwork(context, project, membership, listOptions, target)
    : await (async () => { const config = podConfig(network.config, listOptions); return { config, result: await attachToOne(config, target) }; })();
  return { network: membership.name, ifName: target.ifName, config, capabilityArgs, result, linkedByCorral: true, ip: addressIn(result), ...(membership.aliases.length > 0 ? { aliases: membership.aliases } : {}) };
}
