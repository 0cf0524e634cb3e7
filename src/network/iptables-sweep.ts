import { subnetContains } from './subnet.js';

// The CNI plugins remove their iptables rules on DEL, but DEL needs what ADD recorded. When that
// record is gone (a crash between ADD and the record, a wiped run dir), the rules would stay for
// good. This sweep removes what is left of one project network: rules whose comment names the
// network (bridge masquerade, portmap, and the network's rule in Corral's own forward chain, which
// no DEL removes, so `down` always sweeps it), the per-pod chains they jump to, and the firewall
// plugin's rules (which carry no comment) for addresses of the project's subnet.

/** Chains that the plugins share between all networks: their rules may go, the chains stay. */
const SHARED_CHAINS = new Set(['CNI-FORWARD', 'CNI-ADMIN', 'CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SNAT']);

interface Leftovers {
  readonly rules: string[];
  readonly chains: Set<string>;
}

function leftoversIn(saved: string, networkName: string, subnet: string | undefined): Leftovers {
  const rules: string[] = [];
  const chains = new Set<string>();
  const lines = saved.split('\n').filter((line) => line.startsWith('-A '));
  for (const line of lines) {
    const named = line.includes(`name: \\"${networkName}\\"`) || line.includes(`name: "${networkName}"`);
    const address = / -[sd] (\d+\.\d+\.\d+\.\d+)(?:\/32)? /.exec(line)?.[1];
    const inSubnet = subnet !== undefined && line.startsWith('-A CNI-FORWARD ') && address !== undefined && subnetContains(subnet, address);
    if (!named && !inSubnet) continue;
    rules.push(line);
    const target = / -j (CNI-[\w-]+)/.exec(line)?.[1];
    if (target && !SHARED_CHAINS.has(target)) chains.add(target);
  }
  // The per-pod chains' own rules go with the chains (flushed), not one by one.
  return { rules: rules.filter((line) => !chains.has(line.split(' ')[1] ?? '')), chains };
}

/** Removes the leftovers of one table in one atomic iptables-restore that touches nothing else. */
async function sweepTable(table: 'filter' | 'nat', networkName: string, subnet: string | undefined): Promise<number> {
  const { execa } = await import('execa');
  const saved = await execa('iptables-save', ['-t', table], { reject: false });
  if (saved.exitCode !== 0) return 0;
  const { rules, chains } = leftoversIn(String(saved.stdout), networkName, subnet);
  if (rules.length === 0 && chains.size === 0) return 0;
  const script = [`*${table}`, ...rules.map((rule) => rule.replace(/^-A /, '-D ')), ...[...chains].map((chain) => `-F ${chain}`), ...[...chains].map((chain) => `-X ${chain}`), 'COMMIT', ''].join('\n');
  const restored = await execa('iptables-restore', ['--noflush', '--wait'], { input: script, reject: false });
  if (restored.exitCode !== 0) throw new Error(`could not remove the iptables rules left by network ${networkName}: ${restored.stderr}; remove them by hand (iptables-save | grep ${networkName})`);
  return rules.length + chains.size;
}

/** Removes whatever iptables rules the network still has; returns how many rules and chains went. */
export async function sweepNetworkRules(networkName: string, subnet: string | undefined): Promise<number> {
  // The tables are independent (iptables-restore --wait takes the xtables lock for each).
  const [nat, filter] = await Promise.all([sweepTable('nat', networkName, subnet), sweepTable('filter', networkName, subnet)]);
  return nat + filter;
}
