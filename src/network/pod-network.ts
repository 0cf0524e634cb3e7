import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFile, rename, rm } from 'node:fs/promises';
import type { Pod, PortMapping, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { canonicalJson } from '../canonical-json.js';
import { addNetwork, type CniResult, deleteNetwork, type NetworkConfigList } from './cni.js';
import { ensureProjectNetwork } from './project-network.js';
import { crashPoint } from '../crash-point.js';
import { log } from '../log.js';

// A pod's place on the project network: its pinned network namespace attached once (CNI ADD, eth0),
// whatever number of containers share it, with its published ports; detached (CNI DEL) before the
// namespace goes. What was attached is recorded beside the pod, so DEL gets exactly what ADD got.

export interface PodAttachment {
  readonly containerId: string;
  readonly netns: string;
  readonly config: NetworkConfigList;
  readonly result: CniResult;
  /** The pod's address on the project network. */
  readonly ip: string;
  /** The ports as asked for (0 = any), to notice a change. */
  readonly requested: readonly PortMapping[];
  /** The ports as published (host ports chosen). */
  readonly ports: readonly PortMapping[];
}

export class PortInUseError extends Error {}

export async function readPodAttachment(context: RuntimeContext, podName: string): Promise<PodAttachment | undefined> {
  try {
    return JSON.parse(await readFile(context.paths.pod(podName).network, 'utf8')) as PodAttachment;
  } catch {
    return undefined;
  }
}

/** Binds the port for a moment: the way to know that no program on the host holds it. */
function tryBind(mapping: PortMapping): Promise<number> {
  const host = mapping.hostIp || '0.0.0.0';
  return new Promise((resolve, reject) => {
    if (mapping.protocol === 'udp') {
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

/**
 * Refuses, before anything starts, host ports that another program holds. Pods whose published
 * ports are unchanged keep theirs and are not checked.
 */
export async function checkHostPorts(context: RuntimeContext, project: Project): Promise<void> {
  for (const pod of project.pods) {
    if (pod.network.mode !== 'bridge' || pod.network.ports.length === 0) continue;
    const attached = await readPodAttachment(context, pod.name);
    if (attached && samePorts(attached.requested, pod.network.ports)) continue;
    for (const mapping of pod.network.ports.filter((port) => port.hostPort !== 0)) {
      if (attached?.ports.some((port) => port.hostPort === mapping.hostPort && port.protocol === mapping.protocol)) continue;
      await tryBind(mapping).catch((error: NodeJS.ErrnoException) => {
        const where = `${mapping.hostIp || '0.0.0.0'}:${mapping.hostPort}/${mapping.protocol}`;
        throw new PortInUseError(error.code === 'EADDRINUSE'
          ? `host port ${where} of pod ${pod.name} is already in use on this host; stop what holds it or publish another port in ${project.file}`
          : `cannot publish ${where} of pod ${pod.name}: ${error.message}`);
      });
    }
  }
}

function firstAddress(result: CniResult): string {
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
  let attached: PodAttachment;
  try {
    attached = JSON.parse(await readFile(detaching, 'utf8')) as PodAttachment;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    // Without it DEL cannot run; its veth goes with the namespace, and down sweeps the rules that name the network.
    log.warn(`${detaching}: the record of pod ${podName}'s network attachment cannot be read (${(error as Error).message}); it is removed, and \`corral down\` sweeps what it recorded`);
    await rm(detaching, { force: true });
    return;
  }
  await deleteNetwork(attached.config, { containerId: attached.containerId, netns: attached.netns, ifName: 'eth0', capabilityArgs: { portMappings: portMappingsArg(attached.ports) } }, attached.result);
  crashPoint('detach: CNI DEL done');
  await rm(detaching, { force: true });
}

function portMappingsArg(ports: readonly PortMapping[]) {
  return ports.map((port) => ({ hostPort: port.hostPort, containerPort: port.containerPort, protocol: port.protocol, ...(port.hostIp ? { hostIP: port.hostIp } : {}) }));
}

/**
 * Attaches the pod's network namespace to the project network (once; again only when its ports
 * changed). Pods with network: host or none, or without a pinned network namespace, get no attachment.
 */
export async function attachPod(context: RuntimeContext, project: Project, pod: Pod, netns: string | undefined): Promise<PodAttachment | undefined> {
  if (pod.network.mode !== 'bridge' || !netns) return undefined;
  const attached = await readPodAttachment(context, pod.name);
  if (attached && attached.netns === netns && samePorts(attached.requested, pod.network.ports)) return attached;
  // What is attached differs, or a detach was interrupted: gone first.
  await detachPod(context, pod.name);
  const network = await ensureProjectNetwork(context, project);
  const ports: PortMapping[] = [];
  for (const mapping of pod.network.ports) ports.push(mapping.hostPort === 0 ? { ...mapping, hostPort: await tryBind(mapping) } : mapping);
  const containerId = `${context.project}.${pod.name}`;
  const target = { containerId, netns, ifName: 'eth0', capabilityArgs: { portMappings: portMappingsArg(ports) } };
  let result: CniResult;
  try {
    result = await addNetwork(network.config, target);
  } catch (error) {
    // An attachment that a crash left unrecorded (eth0 exists, a lease taken): remove it, then again.
    await deleteNetwork(network.config, target).catch(() => {});
    result = await addNetwork(network.config, target);
  }
  crashPoint('attach: CNI ADD done');
  const attachment: PodAttachment = { containerId, netns, config: network.config, result, ip: firstAddress(result), requested: pod.network.ports, ports };
  await writeJsonAtomic(context.paths.pod(pod.name).network, attachment);
  return attachment;
}
