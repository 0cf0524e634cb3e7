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

/** Which saved rules (`-A CHAIN ...` lines of iptables-save) are leftovers to remove. */
type RuleMatch = (line: string) => boolean;

/** The address a firewall-plugin rule is about (`-s ADDR/32` or `-d ADDR/32`). */
const addressOf = (line: string) => / -[sd] (\d+\.\d+\.\d+\.\d+)(?:\/32)? /.exec(line)?.[1];

/** Rules whose comment names the network, and the firewall plugin's rules for addresses of its subnet. */
function ofNetwork(networkName: string, subnet: string | undefined): RuleMatch {
  return (line) => {
    const named = line.includes(`name: \\"${networkName}\\"`) || line.includes(`name: "${networkName}"`);
    const address = addressOf(line);
    return named || (subnet !== undefined && line.startsWith('-A CNI-FORWARD ') && address !== undefined && subnetContains(subnet, address));
  };
}

/** The firewall plugin's rules for these addresses only (a shared network: other projects' pods keep theirs). */
function ofAddresses(addresses: ReadonlySet<string>): RuleMatch {
  return (line) => line.startsWith('-A CNI-FORWARD ') && addresses.has(addressOf(line) ?? '');
}

function leftoversIn(saved: string, matches: RuleMatch): Leftovers {
  const rules: string[] = [];
  const chains = new Set<string>();
  const lines = saved.split('\n').filter((line) => line.startsWith('-A '));
  for (const line of lines) {
    if (!matches(line)) continue;
    rules.push(line);
    const target = / -j (CNI-[\w-]+)/.exec(line)?.[1];
    if (target && !SHARED_CHAINS.has(target)) chains.add(target);
  }
  // The per-pod chains' own rules go with the chains (flushed), not one by one.
  return { rules: rules.filter((line) => !chains.has(line.split(' ')[1] ?? '')), chains };
}

type Table = 'filter' | 'nat';

/** One table's part of iptables-save's output (from `*table` to its COMMIT); empty when it has none. */
function tablePart(saved: string, table: Table): string {
  const start = saved.indexOf(`\n*${table}\n`);
  if (start < 0 && !saved.startsWith(`*${table}\n`)) return '';
  const from = start < 0 ? 0 : start + 1;
  const end = saved.indexOf('\nCOMMIT', from);
  return saved.slice(from, end < 0 ? undefined : end);
}

/**
 * Removes the leftovers of the tables in one atomic iptables-restore that touches nothing else, from
 * one iptables-save of all tables: two processes for a network's `down`, where one save and one
 * restore per table were four.
 */
async function sweepTables(tables: readonly Table[], what: string, matches: RuleMatch): Promise<number> {
  const { execa } = await import('execa');
  const saved = await execa('iptables-save', [], { reject: false });
  if (saved.exitCode !== 0) return 0;
  const script: string[] = [];
  let removed = 0;
  for (const table of tables) {
    const { rules, chains } = leftoversIn(tablePart(String(saved.stdout), table), matches);
    if (rules.length === 0 && chains.size === 0) continue;
    script.push(`*${table}`, ...rules.map((rule) => rule.replace(/^-A /, '-D ')), ...[...chains].map((chain) => `-F ${chain}`), ...[...chains].map((chain) => `-X ${chain}`), 'COMMIT');
    removed += rules.length + chains.size;
  }
  if (removed === 0) return 0;
  const restored = await execa('iptables-restore', ['--noflush', '--wait'], { input: `${script.join('\n')}\n`, reject: false });
  if (restored.exitCode !== 0) throw new Error(`could not remove the iptables rules left by ${what}: ${restored.stderr}; remove them by hand (iptables-save | grep '${what.replace(/^\S+ /, '')}')`);
  return removed;
}

/**
 * The firewall plugin's rules left for addresses whose DEL could not run (a crash lost the pod's
 * attachment record) on a network other projects share: only those addresses' rules go.
 */
export async function sweepAddressRules(addresses: readonly string[]): Promise<number> {
  if (addresses.length === 0) return 0;
  return sweepTables(['filter'], `addresses ${addresses.join(' ')}`, ofAddresses(new Set(addresses)));
}

/** Removes whatever iptables rules the network still has; returns how many rules and chains went. */
export async function sweepNetworkRules(networkName: string, subnet: string | undefined): Promise<number> {
  return sweepTables(['nat', 'filter'], `network ${networkName}`, ofNetwork(networkName, subnet));
}
