import { withProjectLock } from '../state/lock.js';

// A Corral network's iptables rules, one set per network and none per pod: what the CNI bridge
// plugin's `ipMasq` and the firewall plugin did once per pod (four plugin processes and a dozen
// iptables calls on every ADD and DEL, most of a bridged pod's attach time) is here once per network,
// as Docker and netavark do it.
// - filter, `CORRAL-FORWARD` (jumped to first from FORWARD, so it works where the policy is DROP):
//   first a jump to `CORRAL-ISOLATION`, then per network: what its pods send, the replies to them,
//   and new connections DNATed to its bridge by a published port.
// - filter, `CORRAL-ISOLATION`: per network, traffic within its bridge returns; to any other Corral
//   bridge (to anywhere, for an internal network) it is dropped, unless a published port DNATed it.
// - nat, `CORRAL-MASQUERADE` (jumped to from POSTROUTING): per outward network, what its subnet sends
//   out of another interface is masqueraded (an internal network has none).
// Every per-network rule carries a comment naming the network, so `down` sweeps them
// (iptables-sweep.ts); the chains and the jumps to them are shared by all projects and stay, as
// netavark's NETAVARK_FORWARD does. Docker's chains and the FORWARD policy are never touched.
//
// Observe (iptables-save of both tables), plan (what is missing, as iptables-restore lines), execute
// (one `iptables-restore --noflush` per table that needs something), under one host-wide lock: three
// or four processes for a new network, two when everything is there.

export const FORWARD_CHAIN = 'CORRAL-FORWARD';
export const ISOLATION_CHAIN = 'CORRAL-ISOLATION';
export const MASQUERADE_CHAIN = 'CORRAL-MASQUERADE';

/** Corral's bridges are all named so (config-list.ts). */
const BRIDGE_PREFIX = 'cr-';

/**
 * The firewall plugin's chain for administrators' rules. Pods attached before Corral made these rules
 * itself (their recorded lists still run the plugin) are accepted by the plugin's CNI-FORWARD, which
 * may come before Corral's chain in FORWARD: where that chain exists, it jumps to the isolation too.
 */
const PLUGIN_ADMIN_CHAIN = 'CNI-ADMIN';

/** iptables is one host-wide table: one Corral at a time makes the chains and jumps, so there is one of each. */
const RULES_LOCK = '/run/corral-forward-chain.lock';

type Table = 'filter' | 'nat';

/** One rule: where it goes, what identifies it (its comment), and its iptables arguments after the chain. */
interface Rule {
  readonly table: Table;
  readonly chain: string;
  readonly comment: string;
  /** Inserted first in its chain (a jump that must come before what is there), else appended. */
  readonly first?: boolean;
  readonly args: readonly string[];
}

/** What one network adds to the host's iptables. */
export interface NetworkRulesOptions {
  readonly bridge: string;
  /** The CNI network name, named in the rules' comments. */
  readonly networkName: string;
  readonly subnet: string;
  readonly internal: boolean;
}

/** A rule's arguments: what it matches, its comment, then its target, as iptables prints them. */
const rule = (where: { table: Table; chain: string; first?: boolean }, comment: string, match: readonly string[], target: string): Rule => ({
  ...where, comment, args: [...match, '-m', 'comment', '--comment', comment, '-j', target],
});

/** The jumps to Corral's chains, shared by every network; `withPluginAdmin`: also from the firewall plugin's admin chain. */
function sharedRules(withPluginAdmin: boolean): Rule[] {
  return [
    // First in FORWARD, before Docker's chains and a host firewall's final DROP or REJECT.
    rule({ table: 'filter', chain: 'FORWARD', first: true }, 'Corral published ports', [], FORWARD_CHAIN),
    rule({ table: 'filter', chain: FORWARD_CHAIN, first: true }, 'Corral network isolation', [], ISOLATION_CHAIN),
    ...(withPluginAdmin ? [rule({ table: 'filter', chain: PLUGIN_ADMIN_CHAIN, first: true }, 'Corral network isolation', [], ISOLATION_CHAIN)] : []),
    rule({ table: 'nat', chain: 'POSTROUTING' }, 'Corral masquerade', [], MASQUERADE_CHAIN),
  ];
}

/** The rules of one network, in the order they must stand in each chain. */
export function networkRules({ bridge, networkName, subnet, internal }: NetworkRulesOptions): Rule[] {
  const named = (what: string) => `${what} name: "${networkName}"`;
  const isolation = { table: 'filter', chain: ISOLATION_CHAIN } as const;
  const forward = { table: 'filter', chain: FORWARD_CHAIN } as const;
  return [
    rule(isolation, named('isolation within'), ['-i', bridge, '-o', bridge], 'RETURN'),
    rule(isolation, named('isolation'), ['-i', bridge, ...(internal ? [] : ['-o', `${BRIDGE_PREFIX}+`]), '-m', 'conntrack', '!', '--ctstate', 'DNAT'], 'DROP'),
    rule(forward, named('published ports'), ['-o', bridge, '-m', 'conntrack', '--ctstate', 'DNAT'], 'ACCEPT'),
    rule(forward, named('sent by pods'), ['-s', subnet, '-i', bridge], 'ACCEPT'),
    rule(forward, named('replies to pods'), ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], 'ACCEPT'),
    ...(internal ? [] : [rule({ table: 'nat', chain: MASQUERADE_CHAIN }, named('masquerade'), ['-s', subnet, '!', '-o', bridge], 'MASQUERADE')]),
  ];
}

/** The host's rules of one table as iptables-save prints them (`-A CHAIN ...` lines), and its chains. */
export interface SavedTable {
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly string[];
}

export function parseSaved(saved: string): SavedTable {
  const lines = saved.split('\n');
  return {
    chains: new Set(lines.filter((line) => line.startsWith(':')).map((line) => line.slice(1).split(' ')[0]!)),
    rules: lines.filter((line) => line.startsWith('-A ')),
  };
}

/** Whether a saved rule is this one: its chain, and its comment (iptables-save quotes it and escapes its quotes). */
const isSaved = (line: string, wanted: Rule) => line.startsWith(`-A ${wanted.chain} `) && line.replaceAll('\\"', '"').includes(`--comment "${wanted.comment}"`);

const quoted = (arg: string) => (/^[\w.,:/+!-]+$/.test(arg) ? arg : `"${arg.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
const restoreLine = (verb: '-A' | '-I' | '-D', chain: string, args: readonly string[]) => [verb, chain, ...(verb === '-I' ? ['1'] : []), ...args.map(quoted)].join(' ');

/**
 * What to add to one table, as iptables-restore --noflush input (empty: nothing is missing). A chain
 * is declared only when missing (declaring an existing one flushes it). The rules of one chain that a
 * network has are made whole in their order: were one missing, the others go and all come again.
 */
export function planTable(table: Table, saved: SavedTable, wanted: readonly Rule[]): string {
  const mine = wanted.filter((one) => one.table === table);
  const chains = [...new Set(mine.flatMap((one) => [one.chain, one.args.at(-1)!]))].filter((chain) => chain.startsWith('CORRAL-') && !saved.chains.has(chain));
  const lines: string[] = chains.map((chain) => `:${chain} - [0:0]`);
  for (const chain of new Set(mine.map((one) => one.chain))) {
    const rules = mine.filter((one) => one.chain === chain);
    const present = rules.map((one) => saved.rules.filter((line) => isSaved(line, one)));
    if (present.every((found) => found.length === 1)) continue;
    for (const line of present.flat()) lines.push(line.replace(/^-A /, '-D '));
    // Inserted ones go in reverse, each at 1, so they keep their order at the top.
    for (const one of rules.filter((each) => each.first).reverse()) lines.push(restoreLine('-I', chain, one.args));
    for (const one of rules.filter((each) => !each.first)) lines.push(restoreLine('-A', chain, one.args));
  }
  return lines.length === 0 ? '' : [`*${table}`, ...lines, 'COMMIT', ''].join('\n');
}

async function saveTable(table: Table): Promise<SavedTable> {
  const { execa } = await import('execa');
  const saved = await execa('iptables-save', ['-t', table], { reject: false });
  if (saved.exitCode !== 0) throw rulesError(`read the ${table} table`, saved);
  return parseSaved(String(saved.stdout));
}

function rulesError(what: string, result: { stderr: unknown; exitCode?: number }): Error {
  return new Error(`could not ${what} (iptables exit ${result.exitCode}: ${String(result.stderr).trim()}); check that iptables works here (\`iptables -S FORWARD\`, \`iptables -t nat -S POSTROUTING\`)`);
}

/** Adds what is missing of one network's rules and of the shared chains and jumps; safe to repeat. */
export async function addNetworkRules(options: NetworkRulesOptions): Promise<void> {
  await withProjectLock(RULES_LOCK, async () => {
    const [filter, nat] = await Promise.all([saveTable('filter'), saveTable('nat')]);
    const wanted = [...sharedRules(filter.chains.has(PLUGIN_ADMIN_CHAIN)), ...networkRules(options)];
    const { execa } = await import('execa');
    for (const [table, saved] of [['filter', filter], ['nat', nat]] as const) {
      const script = planTable(table, saved, wanted);
      if (!script) continue;
      const restored = await execa('iptables-restore', ['--noflush', '--wait'], { input: script, reject: false });
      if (restored.exitCode !== 0) throw rulesError(`add network ${options.networkName}'s rules to the ${table} table`, restored);
    }
  }, undefined, { createDir: false, purpose: `add ${options.networkName}'s rules to ${FORWARD_CHAIN}, ${ISOLATION_CHAIN} and ${MASQUERADE_CHAIN}` });
}
