import { withProjectLock } from '../state/lock.js';

// Corral's own chain in the filter table's FORWARD, for what the CNI plugins leave to the FORWARD
// policy: a new connection from another machine to a published port, which portmap DNATs to a pod
// and which so crosses FORWARD, where the firewall plugin accepts only what a pod sends and the
// replies to it. Where the policy is DROP (Docker sets it when it turns forwarding on; many
// firewalls do), such a connection would be dropped. One rule per project network accepts forwarded
// connections that were DNATed to its bridge (Docker accepts per published port in its DOCKER chain,
// netavark keeps its accepts in NETAVARK_FORWARD); its comment names the network, so `down` removes
// it with the network's other rules (iptables-sweep.ts). The chain and the jump to it are shared by
// all projects and stay, as the plugins' CNI-FORWARD does. Docker's chains and the policy are never
// touched.

export const FORWARD_CHAIN = 'CORRAL-FORWARD';

/** iptables is one host-wide table: one Corral at a time makes the chain and its jump, so there is one jump. */
const FORWARD_CHAIN_LOCK = '/run/corral-forward-chain.lock';

const JUMP = ['FORWARD', '-m', 'comment', '--comment', 'Corral published ports', '-j', FORWARD_CHAIN];

/** The rule of one network, as iptables arguments after the chain. */
export function publishedPortsRule(bridge: string, networkName: string): string[] {
  return ['-o', bridge, '-m', 'conntrack', '--ctstate', 'DNAT', '-m', 'comment', '--comment', `published ports name: "${networkName}"`, '-j', 'ACCEPT'];
}

async function iptables(args: readonly string[]) {
  const { execa } = await import('execa');
  return execa('iptables', ['-w', ...args], { reject: false });
}

function iptablesError(what: string, result: { stderr: unknown; exitCode?: number }): Error {
  return new Error(`could not ${what} (iptables exit ${result.exitCode}: ${String(result.stderr).trim()}); check that iptables works here (\`iptables -S FORWARD\`)`);
}

/** What one network adds to the host's iptables. */
export interface NetworkRulesOptions {
  readonly bridge: string;
  /** The CNI network name, named in the rules' comments. */
  readonly networkName: string;
  readonly internal: boolean;
}

/**
 * The isolation rules of one network, as iptables arguments after the chain. Traffic between pods of
 * the network returns (stays to the plugins' accepts); traffic to any other Corral bridge (another
 * network of the project or another project's) is dropped, and from an internal network anything
 * that leaves the bridge. Connections DNATed by a published port are not dropped: a published port
 * is the host's, reachable from every network.
 */
export function isolationRules({ bridge, networkName, internal }: NetworkRulesOptions): string[][] {
  const comment = ['-m', 'comment', '--comment', `isolation name: "${networkName}"`];
  const notPublished = ['-m', 'conntrack', '!', '--ctstate', 'DNAT'];
  return [
    ['-i', bridge, '-o', bridge, ...comment, '-j', 'RETURN'],
    ['-i', bridge, ...(internal ? [] : ['-o', `${BRIDGE_PREFIX}+`]), ...notPublished, ...comment, '-j', 'DROP'],
  ];
}

/** Corral's bridges are all named so (project-network.ts). */
const BRIDGE_PREFIX = 'cr-';

export const ISOLATION_CHAIN = 'CORRAL-ISOLATION';

/**
 * The firewall plugin's chain for administrators' rules, which its CNI-FORWARD jumps to before it
 * accepts what each pod sends: the isolation has to come before those accepts, whichever of the
 * plugin's jump and Corral's comes first in FORWARD.
 */
const ADMIN_CHAIN = 'CNI-ADMIN';

const ISOLATION_JUMP = [ADMIN_CHAIN, '-m', 'comment', '--comment', 'Corral network isolation', '-j', ISOLATION_CHAIN];

async function ensureChain(chain: string): Promise<void> {
  const made = await iptables(['-N', chain]);
  if (made.exitCode !== 0 && !/already exists/i.test(String(made.stderr))) throw iptablesError(`make the chain ${chain}`, made);
}

/** First in its chain, so that a final DROP or REJECT rule of the host's firewall comes after it. */
async function ensureFirstRule(rule: readonly string[], what: string): Promise<void> {
  if ((await iptables(['-C', ...rule])).exitCode === 0) return;
  const inserted = await iptables(['-I', rule[0]!, '1', ...rule.slice(1)]);
  if (inserted.exitCode !== 0) throw iptablesError(what, inserted);
}

async function ensureRule(chain: string, rule: readonly string[], what: string): Promise<void> {
  if ((await iptables(['-C', chain, ...rule])).exitCode === 0) return;
  const appended = await iptables(['-A', chain, ...rule]);
  if (appended.exitCode !== 0) throw iptablesError(what, appended);
}

async function addPublishedPortsRule(bridge: string, networkName: string): Promise<void> {
  await ensureChain(FORWARD_CHAIN);
  // First in FORWARD, as the plugins put CNI-FORWARD.
  await ensureFirstRule(JUMP, `jump from FORWARD to ${FORWARD_CHAIN}`);
  await ensureRule(FORWARD_CHAIN, publishedPortsRule(bridge, networkName), `accept the published ports of network ${networkName}`);
}

const withForwardLock = (purpose: string, work: () => Promise<void>) => withProjectLock(FORWARD_CHAIN_LOCK, work, undefined, { createDir: false, purpose });

/** Adds what is missing: the chain, the jump to it first in FORWARD, the network's rule; safe to repeat. */
export async function acceptPublishedPorts(bridge: string, networkName: string): Promise<void> {
  await withForwardLock(`add ${networkName}'s rule to ${FORWARD_CHAIN}`, () => addPublishedPortsRule(bridge, networkName));
}

/**
 * Adds what is missing of one network's rules: its published ports' rule and its isolation (the
 * chain, made before the plugin's first ADD makes its admin chain, and the jump to it); safe to repeat.
 */
export async function addNetworkRules(options: NetworkRulesOptions): Promise<void> {
  await withForwardLock(`add ${options.networkName}'s rules to ${FORWARD_CHAIN} and ${ISOLATION_CHAIN}`, async () => {
    await addPublishedPortsRule(options.bridge, options.networkName);
    await ensureChain(ISOLATION_CHAIN);
    await ensureChain(ADMIN_CHAIN);
    await ensureFirstRule(ISOLATION_JUMP, `jump from ${ADMIN_CHAIN} to ${ISOLATION_CHAIN}`);
    // In order: a network's RETURN before its DROP.
    for (const rule of isolationRules(options)) await ensureRule(ISOLATION_CHAIN, rule, `isolate network ${options.networkName}`);
  });
}
