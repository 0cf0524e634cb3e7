import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_NETWORK, type ExternalNetwork, type Project, type ProjectNetwork } from '../project/model.js';
import { ProjectError } from '../project/errors.js';
import { readHostNetwork, readyHostNetwork, withHostNetworks } from './host-network.js';
import type { RuntimeContext } from '../runtime/context.js';
import { writeJsonAtomic } from '../state/atomic.js';
import type { NetworkConfigList } from './cni.js';
import { bridgeOf, configList } from './config-list.js';
import { sweepNetworkRules } from './iptables-sweep.js';
import { addNetworkRules } from './network-rules.js';
import { claimSubnet, releaseSubnets, subnetsClaimedBy, subnetOwnersUnder, type Subnet } from './subnet.js';
import { isRecord, namesInDir, readStateJson } from '../state/read.js';
import { StateReadError } from '../state/errors.js';
import { log } from '../log.js';
import { settleAllThenThrowFirst } from '../settle-all.js';

// A project's networks: each its own Linux bridge and subnet, described as one CNI configuration list
// (bridge with host-local IPAM; portmap for published ports), and its iptables rules, made once with
// the network (network-rules.ts): forwarding allowed whatever the host's FORWARD policy, outbound NAT
// unless internal, and the isolation from every other Corral network. Recorded in the run dir (`default` in
// network.json as before named networks, the others in networks/NAME.json), so `down` finds them
// without the project file.

export interface ProjectNetworkState {
  /** The network's name in the project file; absent in a record of an older Corral: default. */
  readonly name?: string;
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly internal?: boolean;
  readonly config: NetworkConfigList;
}

/**
 * The bridge of one network of the project whose run dir is `projectRunDir`: at most 15 characters
 * (IFNAMSIZ). `default` keeps the name it had before named networks.
 */
export function bridgeNameFor(projectRunDir: string, network: string = DEFAULT_NETWORK): string {
  return bridgeOf(network === DEFAULT_NETWORK ? projectRunDir : path.join(projectRunDir, 'networks', network));
}


/**
 * CNI network name: it appears in iptables comments and names the IPAM dir. A project name has no
 * '.', so `corral-a.b` (project a, network b) never meets `corral-a-b`'s default network. `default`
 * keeps the name (cut at 60) it had before named networks; the others are never cut, so that two
 * networks of a long project name stay apart.
 */
export const cniNetworkName = (project: string, network: string = DEFAULT_NETWORK) =>
  (network === DEFAULT_NETWORK ? `corral-${project}`.slice(0, 60) : `corral-${project}.${network}`);

/** Who claims the network's subnet: the run dir for `default` (as before), below it for the others. */
const subnetOwner = (context: RuntimeContext, network: string) => (network === DEFAULT_NETWORK ? context.paths.run : path.join(context.paths.run, 'networks', network));

const networksDir = (context: RuntimeContext) => path.join(context.paths.run, 'networks');

const recordOf = (context: RuntimeContext, network: string) => (network === DEFAULT_NETWORK ? context.paths.network : path.join(networksDir(context), `${network}.json`));



/** `down` removes the network from the bridge name and the subnet claim, without this record. */
const networkFix = 'run `corral down` (it removes the project networks without their records), then `corral up`';

const isNetworkState = (value: unknown) => isRecord(value) && typeof value.bridge === 'string' && isRecord(value.subnet) && typeof value.subnet.cidr === 'string' && isRecord(value.config);

/** One network of the project as recorded, or undefined before its first pod attached. */
export async function readProjectNetwork(context: RuntimeContext, network: string = DEFAULT_NETWORK): Promise<ProjectNetworkState | undefined> {
  return readStateJson<ProjectNetworkState>(recordOf(context, network), { fix: networkFix, isValid: isNetworkState, shape: 'a project network (bridge, subnet, config)' });
}

const pending = new WeakMap<RuntimeContext, Map<string, Promise<ProjectNetworkState>>>();

/**
 * One network of the project, made on first use (subnet claimed, rules added, config recorded); the
 * bridge itself appears with the first pod. Pods attached in parallel share one call.
 */
export function ensureProjectNetwork(context: RuntimeContext, project: Project, name: string = DEFAULT_NETWORK): Promise<ProjectNetworkState> {
  const ofContext = pending.get(context) ?? new Map<string, Promise<ProjectNetworkState>>();
  pending.set(context, ofContext);
  let state = ofContext.get(name);
  if (!state) {
    const network = project.networks.find((candidate) => candidate.name === name);
    // The loader refuses a pod on a network the file does not define.
    if (!network) throw new Error(`project ${project.name} has no network ${name}; define it under networks: in ${project.file}`);
    state = network.external ? joinHostNetwork(context, network, network.external) : makeProjectNetwork(context, network);
    ofContext.set(name, state);
    // Forgotten when it failed, so the next call tries again; callers still get the error.
    state.catch(() => ofContext.delete(name));
  }
  return state;
}

/** The error of a project that declares an external network the host does not have: at its line, with how to make it. */
export function missingHostNetwork(network: ProjectNetwork, external: ExternalNetwork): ProjectError {
  return new ProjectError(`network ${network.name} is external, and this host has no network ${external.name}`, external.where, `make it first: corral network create ${external.name} (--subnet CIDR, --internal), or remove external: true to have the project make its own`);
}

/** A host network the project declares external, ready for its pods (their ADD still takes the lock). */
async function joinHostNetwork(context: RuntimeContext, network: ProjectNetwork, external: ExternalNetwork): Promise<ProjectNetworkState> {
  const state = await withHostNetworks(context.dirs, `join network ${external.name}`, () => readyHostNetwork(context.dirs, external.name));
  if (!state) throw missingHostNetwork(network, external);
  return { ...state, name: network.name };
}

/** Refuses, before anything starts, an external network that the host does not have. */
export async function checkExternalNetworks(context: RuntimeContext, project: Project): Promise<void> {
  const missing: ProjectError[] = [];
  for (const network of project.networks) {
    if (network.external && !(await readHostNetwork(context.dirs, network.external.name))) missing.push(missingHostNetwork(network, network.external));
  }
  if (missing.length > 0) throw ProjectError.inFileOrder(missing);
}

async function makeProjectNetwork(context: RuntimeContext, network: ProjectNetwork): Promise<ProjectNetworkState> {
  const existing = await readProjectNetwork(context, network.name);
  if (existing && (!network.subnet || existing.subnet.cidr === network.subnet) && (existing.internal ?? false) === network.internal) return existing;
  const bridge = bridgeNameFor(context.paths.run, network.name);
  const subnet = await claimSubnet(subnetOwner(context, network.name), network.subnet, `networks.${network.name}.subnet`);
  const config = configList({ name: cniNetworkName(context.project, network.name), bridge, subnet, internal: network.internal, leases: context.paths.cniData });
  const state: ProjectNetworkState = { name: network.name, bridge, subnet, internal: network.internal, config };
  // Before the record, so that a recorded network always has them; `down` sweeps them by their comment.
  await addNetworkRules({ bridge, networkName: state.config.name, subnet: subnet.cidr, internal: network.internal });
  await writeJsonAtomic(recordOf(context, network.name), state);
  return state;
}

/** The networks the project has or may have had: recorded, or holding a subnet claim (a record lost). */
async function networksOfProject(context: RuntimeContext): Promise<string[]> {
  const recorded = (await namesInDir(networksDir(context))).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length));
  const claimed = (await subnetOwnersUnder(networksDir(context))).map((owner) => path.basename(owner));
  return [...new Set([DEFAULT_NETWORK, ...recorded, ...claimed])].sort();
}

/** Every network of the project as recorded (`corral network ls`): those a pod was attached to, sorted by name. */
export async function readRecordedNetworks(context: RuntimeContext): Promise<(ProjectNetworkState & { readonly name: string })[]> {
  const names = await networksOfProject(context);
  const states = await Promise.all(names.map(async (name) => ({ name, state: await readProjectNetwork(context, name) })));
  return states.flatMap(({ name, state }) => (state ? [{ ...state, name }] : []));
}

/** Removes one network's bridge, rules, subnet claim and record. */
async function removeOneNetwork(context: RuntimeContext, name: string): Promise<void> {
  const state = await readProjectNetwork(context, name).catch((error: unknown) => {
    if (!(error instanceof StateReadError)) throw error;
    // The record is what `down` would repair with: the bridge name and subnet are known without it.
    log.warn(`${error.message}; removing network ${name} by its bridge name and subnet claim`);
    return undefined;
  });
  const owner = subnetOwner(context, name);
  const bridge = state?.bridge ?? bridgeNameFor(context.paths.run, name);
  const subnet = state?.subnet.cidr ?? (await subnetsClaimedBy(owner))[0];
  // Most projects of pods with network: none never had a bridge; asking the kernel costs no process.
  // The bridge and the rules are independent: they go side by side (the kernel's wait for a link's
  // removal beside the iptables processes), both before the subnet's claim.
  await settleAllThenThrowFirst([
    (async () => {
      if (!existsSync(`/sys/class/net/${bridge}`)) return;
      // Loaded here: most downs (pods with network: none) remove no bridge.
      const { removeBridge } = await import('./pod-link.js');
      await removeBridge(bridge);
    })(),
    // A network with neither record nor subnet claim never had rules: its subnet is claimed before its
    // rules are added (makeProjectNetwork), the CNI plugins add theirs from its record, and the claim
    // goes only after this sweep. Skipping it spares such a `down` (pods with network: none) two
    // iptables processes.
    state !== undefined || subnet !== undefined ? sweepNetworkRules(cniNetworkName(context.project, name), subnet) : Promise.resolve(),
  ]);
  await releaseSubnets(owner);
  await rm(recordOf(context, name), { recursive: true, force: true });
}

/** Removes every network's bridge, rules, subnet claim, and the IPAM leases, once no pod is attached any more. */
export async function removeProjectNetwork(context: RuntimeContext): Promise<void> {
  // Side by side: each network's bridge, rules and claim are its own (iptables-restore --wait queues on the xtables lock).
  await settleAllThenThrowFirst((await networksOfProject(context)).map((name) => removeOneNetwork(context, name)));
  await rm(context.paths.cniData, { recursive: true, force: true });
  await rm(networksDir(context), { recursive: true, force: true });
  pending.delete(context);
}
