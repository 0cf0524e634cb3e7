import { execa } from 'execa';
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
  return execa('iptables', ['-w', ...args], { reject: false });
}

function iptablesError(what: string, result: { stderr: unknown; exitCode?: number }): Error {
  return new Error(`could not ${what} (iptables exit ${result.exitCode}: ${String(result.stderr).trim()}); check that iptables works here (\`iptables -S FORWARD\`)`);
}

/** Adds what is missing: the chain, the jump to it first in FORWARD, the network's rule; safe to repeat. */
export async function acceptPublishedPorts(bridge: string, networkName: string): Promise<void> {
  const rule = publishedPortsRule(bridge, networkName);
  await withProjectLock(FORWARD_CHAIN_LOCK, async () => {
    const made = await iptables(['-N', FORWARD_CHAIN]);
    if (made.exitCode !== 0 && !/already exists/i.test(String(made.stderr))) throw iptablesError(`make the chain ${FORWARD_CHAIN}`, made);
    // First in FORWARD, as the plugins put CNI-FORWARD, so that a final DROP or REJECT rule of the
    // host's firewall comes after it.
    if ((await iptables(['-C', ...JUMP])).exitCode !== 0) {
      const inserted = await iptables(['-I', JUMP[0]!, '1', ...JUMP.slice(1)]);
      if (inserted.exitCode !== 0) throw iptablesError(`jump from FORWARD to ${FORWARD_CHAIN}`, inserted);
    }
    if ((await iptables(['-C', FORWARD_CHAIN, ...rule])).exitCode !== 0) {
      const appended = await iptables(['-A', FORWARD_CHAIN, ...rule]);
      if (appended.exitCode !== 0) throw iptablesError(`accept the published ports of network ${networkName}`, appended);
    }
  }, undefined, { createDir: false, purpose: `add ${networkName}'s rule to ${FORWARD_CHAIN}` });
}
