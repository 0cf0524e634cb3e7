import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import type { PodNetworkIdentity } from '../runtime/checkpoint.js';
import { observeProject } from '../runtime/observe.js';
import { detachPod, readPodAttachment, type PodAttachment } from '../network/pod-network.js';
import { ensurePodSandbox } from '../network/pod-sandbox.js';
import { subnetContains } from '../network/subnet.js';
import { whenMissing } from '../state/read.js';

// A restore into fresh namespaces (an exported checkpoint restored after `down`, or on another host)
// asks for the address the pod had when it was dumped, so that established TCP connections, bound
// to it, survive: the pod is attached anew with that address on its first network, when the address
// lies in that network's subnet and no one holds it. Otherwise the restore goes on at the pod's new
// address and says why (and one with --tcp-established is refused: runtime/checkpoint.ts).

/** What the restore does about the pod's address: keep it, ask for the recorded one, or go on at a new one (why). */
export type AddressPlan =
  | { readonly kind: 'keep' }
  | { readonly kind: 'readdress'; readonly ip: string }
  | { readonly kind: 'moved'; readonly why: string };

/** What the restore sees of the pod's network now. */
export interface AddressFacts {
  /** The address recorded at the checkpoint (undefined: the host's network, or none recorded). */
  readonly recorded?: string;
  /** The pod's address on its first network now (undefined: not attached). */
  readonly now?: string;
  /** The first network's subnet and gateway, as the pod was attached with them. */
  readonly subnet?: { readonly cidr: string; readonly gateway?: string };
  /** Who holds a lease on the recorded address in that network (a CNI container id), if anyone. */
  readonly holder?: string;
  /** The pod's containers that run now (their processes are on the pod's address). */
  readonly running: readonly string[];
}

export function planRestoreAddress(facts: AddressFacts): AddressPlan {
  const { recorded, now, subnet } = facts;
  if (recorded === undefined || now === undefined || recorded === now) return { kind: 'keep' };
  if (facts.running.length > 0) return { kind: 'moved', why: `${facts.running.join(', ')} of the pod run${facts.running.length === 1 ? 's' : ''} at ${now}, so the pod keeps it` };
  if (!subnet || !subnetContains(subnet.cidr, recorded)) return { kind: 'moved', why: `${recorded} is outside the network's subnet ${subnet?.cidr ?? '(unknown)'}` };
  if (recorded === subnet.gateway) return { kind: 'moved', why: `${recorded} is the network's gateway here` };
  if (facts.holder !== undefined) return { kind: 'moved', why: `${recorded} is taken in that network (by ${facts.holder})` };
  return { kind: 'readdress', ip: recorded };
}

interface HostLocalIpam { readonly dataDir?: string; readonly ranges?: readonly (readonly { subnet?: string; gateway?: string }[])[] }

/** host-local's IPAM of the pod's first network, as it was attached. */
function ipamOf(attachment: PodAttachment): { ipam: HostLocalIpam; network: string } | undefined {
  const first = attachment.networks[0];
  const ipam = first?.config.plugins.find((plugin) => plugin.type === 'bridge')?.ipam as HostLocalIpam | undefined;
  return first && ipam ? { ipam, network: first.config.name } : undefined;
}

/** The CNI container id holding host-local's lease on `ip` (a file named by the address, the id its first line). */
async function leaseHolder(ipam: HostLocalIpam, network: string, ip: string): Promise<string | undefined> {
  if (!ipam.dataDir) return undefined;
  const text = await readFile(path.join(ipam.dataDir, network, ip), 'utf8').catch(whenMissing(undefined));
  return text === undefined ? undefined : (text.split(/\r?\n/)[0] || 'an unnamed holder');
}

/** The pod's address and published ports (`HOSTIP:PORT->PORT/PROTO`) as its network attached them (none: not attached). */
export function networkIdentityOf(attachment: PodAttachment | undefined): PodNetworkIdentity | undefined {
  return attachment && { ip: attachment.ip, ports: attachment.ports.map((port) => `${port.hostIp || '0.0.0.0'}:${port.hostPort}->${port.containerPort}/${port.protocol}`) };
}

/** Looks at the pod's network and its containers, for planRestoreAddress. */
async function addressFacts(context: RuntimeContext, podName: string, recorded: string | undefined): Promise<AddressFacts> {
  const attachment = await readPodAttachment(context, podName);
  const running = (await observeProject(context)).containers
    .filter((container) => container.pod === podName && (container.status === 'running' || container.status === 'paused'))
    .map((container) => `${container.pod}/${container.name}`);
  const found = attachment && ipamOf(attachment);
  const range = found?.ipam.ranges?.[0]?.[0];
  return {
    recorded, now: attachment?.ip, running,
    ...(range?.subnet ? { subnet: { cidr: range.subnet, ...(range.gateway ? { gateway: range.gateway } : {}) } } : {}),
    ...(found && recorded !== undefined && recorded !== attachment?.ip ? { holder: await leaseHolder(found.ipam, found.network, recorded) } : {}),
  };
}

/**
 * Before a restore: the pod at its recorded address when it can be (attached anew with it), and its
 * network identity then, with why it differs from the recorded one when it does.
 */
export async function addressForRestore(context: RuntimeContext, project: Project, podName: string, recorded: PodNetworkIdentity | undefined): Promise<{ now?: PodNetworkIdentity; why?: string }> {
  const plan = planRestoreAddress(await addressFacts(context, podName, recorded?.ip));
  const pod = project.pods.find((one) => one.name === podName);
  if (plan.kind === 'readdress' && pod) {
    // Detached first: attachPod then asks host-local for the address (its record keeps the file's wish, so the next `up` leaves it).
    await detachPod(context, podName);
    await ensurePodSandbox(context, pod, project, { firstAddress: plan.ip });
  }
  const now = networkIdentityOf(await readPodAttachment(context, podName));
  return { ...(now ? { now } : {}), ...(plan.kind === 'moved' ? { why: plan.why } : {}) };
}
