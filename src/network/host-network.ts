import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeDirDespiteRemoval } from '../state/make-dir.js';
import { hostNetworkPaths, type Dirs } from '../state/paths.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { withProjectLock } from '../state/lock.js';
import { isRecord, namesInDir, readStateJson, whenMissing } from '../state/read.js';
import { addNetworkRules } from './network-rules.js';
import { sweepAddressRules, sweepNetworkRules } from './iptables-sweep.js';
import type { ProjectNetworkState } from './project-network.js';
import { bridgeOf, configList } from './config-list.js';
import { claimSubnet, releaseSubnets } from './subnet.js';
import { type LeaseHolder, leasedAddresses, releaseAddresses } from './leases.js';
import { FixableError } from '../fixable-error.js';

// Host networks: made by `corral network create`, joined by the projects that declare them
// `external: true`, removed by `corral network rm` once no pod is on them; `down` of a project leaves
// them. Each is a Corral network like a project's own (a bridge, a subnet claimed host-wide, the
// CNI list, the isolation and published-ports rules), recorded outside every project (state/paths.ts
// hostNetworkPaths) and with leases shared by every project on it, so that two projects never get
// one address. One lock orders every command that makes, joins or removes one, or rewrites the
// names their pods see: a pod is attached (CNI ADD) to a host network under it, so `rm` never takes
// away a network that a pod is being attached to.

/** A host network as recorded: a network's state under its host-wide name. */
export interface HostNetworkState extends ProjectNetworkState {
  readonly name: string;
  readonly external: true;
  /** When `network create` made it (ISO 8601). */
  readonly created: string;
}

/** A host network's name: as a project's (a-z, 0-9, - and _), so that it is a file name and part of the CNI name. */
export const HOST_NETWORK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Its name in CNI, in iptables comments and as its leases' dir: a project name has no '.', so
 * `corral.NAME` never meets a project's network (`corral-PROJECT`, `corral-PROJECT.NETWORK`).
 */
export const hostCniName = (name: string) => `corral.${name}`;

/** The host network a CNI name belongs to, or undefined for a project's own network. */
export const hostNetworkOfCniName = (cniName: string) => (cniName.startsWith('corral.') ? cniName.slice('corral.'.length) : undefined);

/** What `network create` and `rm` refuse, and what stops them, with how to fix it. */
export class HostNetworkError extends FixableError {
  /** A refusal of what was asked (a name taken, a network in use): the user's to change, exit code 1. */
  readonly invalidInput: boolean;
  constructor(message: string, hint: string, options: { cause?: unknown; invalidInput?: boolean } = {}) {
    super(message, { hint, cause: options.cause });
    this.invalidInput = options.invalidInput ?? true;
  }
}

const recordFix = (name: string) => `remove it with \`corral network rm ${name}\` once no pod is on it, and make it again with \`corral network create ${name}\``;

const isHostNetwork = (value: unknown) => isRecord(value) && value.external === true && typeof value.bridge === 'string' && isRecord(value.subnet) && typeof value.subnet.cidr === 'string' && isRecord(value.config);

/** The host network as recorded, or undefined when the host has none of that name. */
export async function readHostNetwork(dirs: Dirs, name: string): Promise<HostNetworkState | undefined> {
  return readStateJson<HostNetworkState>(hostNetworkPaths(dirs).record(name), { fix: recordFix(name), isValid: isHostNetwork, shape: 'a host network (bridge, subnet, config)' });
}

/** Every host network, sorted by name. */
export async function readHostNetworks(dirs: Dirs): Promise<HostNetworkState[]> {
  const names = (await namesInDir(hostNetworkPaths(dirs).records)).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length)).sort();
  const states = await Promise.all(names.map((name) => readHostNetwork(dirs, name)));
  return states.filter((state): state is HostNetworkState => state !== undefined);
}

/** Runs `work` holding the host networks' lock (made root-only with its dir). */
export function withHostNetworks<T>(dirs: Dirs, purpose: string, work: () => Promise<T>): Promise<T> {
  return withProjectLock(hostNetworkPaths(dirs).lock, work, undefined, { purpose });
}

export interface HostNetworkRequest {
  readonly name: string;
  /** CIDR; undefined: a free /24 of Corral's pool. */
  readonly subnet?: string;
  readonly internal: boolean;
}

/** Makes a host network: subnet claimed, rules added, recorded; the bridge comes with its first pod. Under the lock. */
export async function createHostNetwork(dirs: Dirs, request: HostNetworkRequest): Promise<HostNetworkState> {
  if (!HOST_NETWORK_NAME.test(request.name)) throw new HostNetworkError(`invalid network name "${request.name}"`, 'use lowercase letters, digits, - and _, starting with a letter or digit (at most 63)');
  const paths = hostNetworkPaths(dirs);
  return withHostNetworks(dirs, `create network ${request.name}`, async () => {
    if (await readHostNetwork(dirs, request.name)) throw new HostNetworkError(`network ${request.name} already exists`, `see it with \`corral network inspect ${request.name}\`, or remove it first with \`corral network rm ${request.name}\``);
    // Root-only, as the project dirs: host-local makes the leases' own dirs world-readable inside it.
    await makeDirDespiteRemoval(path.dirname(paths.leases), 0o700);
    const subnet = await claimSubnet(paths.subnetOwner(request.name), request.subnet, '--subnet');
    const bridge = bridgeOf(paths.subnetOwner(request.name));
    const cniName = hostCniName(request.name);
    const state: HostNetworkState = {
      name: request.name, external: true, created: new Date().toISOString(), bridge, subnet, internal: request.internal,
      config: configList({ name: cniName, bridge, subnet, internal: request.internal, leases: paths.leases }),
    };
    await addNetworkRules({ bridge, networkName: cniName, subnet: subnet.cidr, internal: request.internal });
    await writeJsonAtomic(paths.record(request.name), state);
    return state;
  });
}

/**
 * The host network, ready for a pod to join: its subnet claimed and its rules there again (both go at
 * a reboot; the record stays). To be called under the lock; undefined when the host has no such network.
 */
export async function readyHostNetwork(dirs: Dirs, name: string): Promise<HostNetworkState | undefined> {
  const state = await readHostNetwork(dirs, name);
  if (!state) return undefined;
  await makeDirDespiteRemoval(path.dirname(hostNetworkPaths(dirs).leases), 0o700);
  await claimSubnet(hostNetworkPaths(dirs).subnetOwner(name), state.subnet.cidr, `the subnet of network ${name}`);
  await addNetworkRules({ bridge: state.bridge, networkName: state.config.name, subnet: state.subnet.cidr, internal: state.internal ?? false });
  return state;
}

/** The interfaces attached to the network's bridge: a pod's veth, also of an attachment not recorded yet. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  return readdir(`/sys/class/net/${bridge}/brif`).catch(whenMissing([] as string[]));
}

/**
 * Removes a host network (bridge, rules, subnet claim, leases, record); the caller holds the lock and
 * has found no pod on it.
 */
export async function removeHostNetwork(dirs: Dirs, state: HostNetworkState): Promise<void> {
  const paths = hostNetworkPaths(dirs);
  if (existsSync(`/sys/class/net/${state.bridge}`)) {
    // Loaded here: `down` reads this module (releaseHostLeases), and most downs remove no bridge.
    const { removeBridge } = await import('./pod-link.js');
    await removeBridge(state.bridge).catch((error: unknown) => {
      throw new HostNetworkError(`could not remove bridge ${state.bridge} of network ${state.name}: ${(error as Error).message}`, `remove it by hand (ip link del ${state.bridge}), then run corral network rm ${state.name} again`, { invalidInput: false });
    });
  }
  await sweepNetworkRules(state.config.name, state.subnet.cidr);
  await releaseSubnets(paths.subnetOwner(state.name));
  await rm(`${paths.leases}/${state.config.name}`, { recursive: true, force: true });
  await rm(paths.record(state.name), { force: true });
}

/**
 * Frees the addresses the project's pods still hold on host networks: none once every pod was
 * detached, except where a crash lost an attachment's record (DEL could not run). host-local keeps a
 * lease as a file named by the address, holding the container id (`project.pod`: a project name has
 * no '.', so the prefix is the project's alone) and the interface.
 */
export async function releaseHostLeases(dirs: Dirs, project: string): Promise<void> {
  const leases = hostNetworkPaths(dirs).leases;
  const ofProject = (holder: LeaseHolder) => holder.id.startsWith(`${project}.`);
  for (const network of await namesInDir(leases)) {
    // The firewall plugin's rules for such an address stayed with the lease (no DEL ran): they go
    // first, while the address is still the project's, before another pod can be given it.
    await sweepAddressRules(await leasedAddresses(path.join(leases, network), ofProject));
    await releaseAddresses(path.join(leases, network), ofProject);
  }
}
