import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { writeJsonAtomic } from '../state/atomic.js';
import type { NetworkConfigList } from './cni.js';
import { sweepNetworkRules } from './iptables-sweep.js';
import { acceptPublishedPorts } from './forward-chain.js';
import { claimSubnet, releaseSubnets, subnetsClaimedBy, type Subnet } from './subnet.js';
import { isRecord, readStateJson } from '../state/read.js';
import { StateReadError } from '../state/errors.js';
import { log } from '../log.js';

// A project's network: its own Linux bridge and subnet, described as one CNI configuration list
// (bridge with host-local IPAM and outbound NAT, portmap for published ports, firewall so that
// forwarding is allowed whatever the host's FORWARD policy), and a rule in Corral's own forward chain
// for connections from elsewhere to published ports (forward-chain.ts). Recorded in the run dir, so `down`
// finds it without the project file.

export interface ProjectNetworkState {
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly config: NetworkConfigList;
}

/** The bridge of the project whose run dir is `projectRunDir`: at most 15 characters (IFNAMSIZ). */
export function bridgeNameFor(projectRunDir: string): string {
  return `cr-${createHash('sha256').update(projectRunDir).digest('hex').slice(0, 10)}`;
}

const bridgeName = (context: RuntimeContext) => bridgeNameFor(context.paths.run);

/** CNI network name: it appears in iptables comments and the IPAM dir. */
export const networkName = (context: RuntimeContext) => `corral-${context.project}`.slice(0, 60);

function configList(context: RuntimeContext, bridge: string, subnet: Subnet): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name: networkName(context),
    plugins: [
      {
        type: 'bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: subnet.cidr, gateway: subnet.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: context.paths.cniData },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall', backend: 'iptables' },
    ],
  };
}

/** `down` removes the network from the bridge name and the subnet claim, without this record. */
const networkFix = 'run `corral down` (it removes the project network without this record), then `corral up`';

const isNetworkState = (value: unknown) => isRecord(value) && typeof value.bridge === 'string' && isRecord(value.subnet) && typeof value.subnet.cidr === 'string' && isRecord(value.config);

/** The project network as recorded, or undefined before the first pod attached. */
export async function readProjectNetwork(context: RuntimeContext): Promise<ProjectNetworkState | undefined> {
  return readStateJson<ProjectNetworkState>(context.paths.network, { fix: networkFix, isValid: isNetworkState, shape: 'a project network (bridge, subnet, config)' });
}

const pending = new WeakMap<RuntimeContext, Promise<ProjectNetworkState>>();

/**
 * The project network, made on first use (subnet claimed, config recorded); the bridge itself
 * appears with the first pod. Pods attached in parallel share one call.
 */
export function ensureProjectNetwork(context: RuntimeContext, project: Project): Promise<ProjectNetworkState> {
  let state = pending.get(context);
  if (!state) {
    state = makeProjectNetwork(context, project);
    pending.set(context, state);
    // Forgotten when it failed, so the next call tries again; callers still get the error.
    state.catch(() => pending.delete(context));
  }
  return state;
}

async function makeProjectNetwork(context: RuntimeContext, project: Project): Promise<ProjectNetworkState> {
  const existing = await readProjectNetwork(context);
  if (existing && (!project.network.subnet || existing.subnet.cidr === project.network.subnet)) return existing;
  const bridge = bridgeName(context);
  const subnet = await claimSubnet(context.paths.run, project.network.subnet);
  const state = { bridge, subnet, config: configList(context, bridge, subnet) };
  // Before the record, so that a recorded network always has it; `down` sweeps it by its comment.
  await acceptPublishedPorts(bridge, networkName(context));
  await writeJsonAtomic(context.paths.network, state);
  return state;
}

/** Removes the bridge, the IPAM leases and the subnet claim, once no pod is attached any more. */
export async function removeProjectNetwork(context: RuntimeContext): Promise<void> {
  const state = await readProjectNetwork(context).catch((error: unknown) => {
    if (!(error instanceof StateReadError)) throw error;
    // The record is what `down` would repair with: the bridge name and subnet are known without it.
    log.warn(`${error.message}; removing the project network by its bridge name and subnet claim`);
    return undefined;
  });
  const bridge = state?.bridge ?? bridgeName(context);
  const subnet = state?.subnet.cidr ?? (await subnetsClaimedBy(context.paths.run))[0];
  // Most projects of pods with network: none never had a bridge; asking the kernel costs no process.
  if (existsSync(`/sys/class/net/${bridge}`)) await execa('ip', ['link', 'del', bridge], { reject: false });
  await sweepNetworkRules(networkName(context), subnet);
  await rm(context.paths.cniData, { recursive: true, force: true });
  await releaseSubnets(context.paths.run);
  await rm(context.paths.network, { recursive: true, force: true });
  pending.delete(context);
}
