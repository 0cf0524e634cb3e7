import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { addNetworkRules, FORWARD_CHAIN, ISOLATION_CHAIN, MASQUERADE_CHAIN, networkRules, parseSaved, planTable } from '../../src/network/network-rules.js';
import { sweepNetworkRules } from '../../src/network/iptables-sweep.js';

// A network's rules on the host's real iptables: projects adding theirs at the same time get one
// chain, one jump and one rule each, in order; repeating adds nothing; the sweep of `down` removes a
// network's rules and leaves the shared chains and jumps. The rules name bridges that do not exist
// and subnets outside Corral's pool, so they match no packet. The plan is also checked on its own.

const rules = suite('network rules: once per network, in order, swept with the network');

const networks = [`corral-t${process.pid}-rules-a`, `corral-t${process.pid}-rules-b`];
const bridgeOf = (network: string) => `crt${process.pid}${network.slice(-1)}`.slice(0, 15);
const subnetOf = (network: string) => `10.66.${network.endsWith('a') ? 1 : 2}.0/24`;
const optionsOf = (network: string, internal = false) => ({ bridge: bridgeOf(network), networkName: network, subnet: subnetOf(network), internal });

async function saved(table: 'filter' | 'nat'): Promise<string[]> {
  return String((await execa('iptables-save', ['-t', table])).stdout).split('\n');
}

const ofNetwork = (lines: readonly string[], network: string) => lines.filter((line) => line.includes(`"${network}\\"`));

rules.after(async () => {
  for (const network of networks) await sweepNetworkRules(network, undefined);
});

rules('projects adding at once, twice: one jump each, the isolation first, each network\'s rules once and in order', async () => {
  await Promise.all([...networks, ...networks].map((network, index) => addNetworkRules(optionsOf(network, index % 2 === 1))));
  const filter = await saved('filter');
  const nat = await saved('nat');
  assert.is(filter.filter((line) => line.startsWith('-A FORWARD ') && line.endsWith(`-j ${FORWARD_CHAIN}`)).length, 1, `one jump from FORWARD: ${filter.join('\n')}`);
  const forward = filter.filter((line) => line.startsWith(`-A ${FORWARD_CHAIN} `));
  assert.ok(forward[0]?.endsWith(`-j ${ISOLATION_CHAIN}`), `the isolation comes first in ${FORWARD_CHAIN}: ${forward.join('\n')}`);
  assert.is(forward.filter((line) => line.endsWith(`-j ${ISOLATION_CHAIN}`)).length, 1, 'once');
  assert.is(nat.filter((line) => line.startsWith('-A POSTROUTING ') && line.endsWith(`-j ${MASQUERADE_CHAIN}`)).length, 1, `one jump from POSTROUTING: ${nat.join('\n')}`);
  const [a] = networks as [string, string];
  const bridge = bridgeOf(a);
  assert.equal(ofNetwork(filter, a), [
    `-A ${FORWARD_CHAIN} -o ${bridge} -m conntrack --ctstate DNAT -m comment --comment "published ports name: \\"${a}\\"" -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -s ${subnetOf(a)} -i ${bridge} -m comment --comment "sent by pods name: \\"${a}\\"" -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies to pods name: \\"${a}\\"" -j ACCEPT`,
    `-A ${ISOLATION_CHAIN} -i ${bridge} -o ${bridge} -m comment --comment "isolation within name: \\"${a}\\"" -j RETURN`,
    `-A ${ISOLATION_CHAIN} -i ${bridge} -o cr-+ -m conntrack ! --ctstate DNAT -m comment --comment "isolation name: \\"${a}\\"" -j DROP`,
  ], `the filter rules of ${a}`);
  assert.equal(ofNetwork(nat, a), [`-A ${MASQUERADE_CHAIN} -s ${subnetOf(a)} ! -o ${bridge} -m comment --comment "masquerade name: \\"${a}\\"" -j MASQUERADE`], `the masquerade of ${a}`);
  for (const table of ['filter', 'nat'] as const) {
    assert.is(planTable(table, parseSaved((await saved(table)).join('\n')), networkRules(optionsOf(a))), '', `nothing is missing in ${table} any more`);
  }
});

rules('the sweep of down removes the network\'s rules and leaves the other network\'s and the shared chains and jumps', async () => {
  const [a, b] = networks as [string, string];
  assert.ok(await sweepNetworkRules(a, undefined) >= 6, 'the sweep removed the six rules of the network');
  const all = [...await saved('filter'), ...await saved('nat')];
  assert.equal(ofNetwork(all, a), [], 'no rule of the network is left');
  assert.is(ofNetwork(all, b).length, 5, 'the other network (internal: no masquerade) keeps its five');
  assert.ok(all.some((line) => line.endsWith(`-j ${FORWARD_CHAIN}`)) && all.some((line) => line.endsWith(`-j ${ISOLATION_CHAIN}`)) && all.some((line) => line.endsWith(`-j ${MASQUERADE_CHAIN}`)), 'the jumps stay');
});

rules('the plan: chains declared only when missing, a network\'s rules of a chain made whole in order', () => {
  const options = { bridge: 'cr-x', networkName: 'corral-p', subnet: '10.89.7.0/24', internal: false };
  const fresh = planTable('filter', parseSaved('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT'), networkRules(options)).split('\n');
  assert.equal(fresh.filter((line) => line.startsWith(':')), [`:${ISOLATION_CHAIN} - [0:0]`, `:${FORWARD_CHAIN} - [0:0]`], 'both chains made');
  assert.ok(fresh.indexOf(`-A ${ISOLATION_CHAIN} -i cr-x -o cr-x -m comment --comment "isolation within name: \\"corral-p\\"" -j RETURN`) < fresh.findIndex((line) => line.includes('-j DROP')), `RETURN before DROP: ${fresh.join('\n')}`);
  // An older Corral's isolation: one comment on both rules. Both go and come again, in order.
  const older = [
    `:${ISOLATION_CHAIN} - [0:0]`,
    `-A ${ISOLATION_CHAIN} -i cr-x -o cr-x -m comment --comment "isolation name: \\"corral-p\\"" -j RETURN`,
    `-A ${ISOLATION_CHAIN} -i cr-x -o cr-+ -m conntrack ! --ctstate DNAT -m comment --comment "isolation name: \\"corral-p\\"" -j DROP`,
  ].join('\n');
  const plan = planTable('filter', parseSaved(older), networkRules(options).filter((rule) => rule.chain === ISOLATION_CHAIN)).split('\n');
  assert.equal(plan.filter((line) => line.startsWith('-D ')).length, 2, `both old rules go: ${plan.join('\n')}`);
  assert.equal(plan.filter((line) => line.startsWith('-A ')).length, 2, 'both new ones come');
  assert.not.ok(plan.some((line) => line.startsWith(':')), 'the chain there is not declared again (that would flush it)');
});

rules.run();
