import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { acceptPublishedPorts, FORWARD_CHAIN } from '../../src/network/forward-chain.js';
import { sweepNetworkRules } from '../../src/network/iptables-sweep.js';

// Corral's own forward chain on the host's real iptables: projects adding their rules at the same
// time get one chain, one jump to it and one rule each, repeating adds nothing, and the sweep of
// `down` removes a network's rule and leaves the shared chain. The rules name bridges that do not
// exist, so they match no packet.

const chain = suite('CORRAL-FORWARD: one jump, one rule per network, swept with the network');

const networks = [`corral-t${process.pid}-fwd-a`, `corral-t${process.pid}-fwd-b`];
const bridgeOf = (network: string) => `crt${process.pid}${network.slice(-1)}`.slice(0, 15);

async function forwardRules(): Promise<string[]> {
  return String((await execa('iptables-save', ['-t', 'filter'])).stdout).split('\n').filter((line) => line.startsWith('-A FORWARD ') || line.startsWith(`-A ${FORWARD_CHAIN} `));
}

chain.after(async () => {
  for (const network of networks) await sweepNetworkRules(network, undefined);
});

chain('projects adding at once, twice: one jump from FORWARD, one rule per network', async () => {
  await Promise.all([...networks, ...networks].map((network) => acceptPublishedPorts(bridgeOf(network), network)));
  const rules = await forwardRules();
  assert.is(rules.filter((rule) => rule.startsWith('-A FORWARD ') && rule.endsWith(`-j ${FORWARD_CHAIN}`)).length, 1, `one jump: ${rules.join('\n')}`);
  for (const network of networks) {
    const own = rules.filter((rule) => rule.includes(`"${network}\\"`));
    assert.equal(own, [`-A ${FORWARD_CHAIN} -o ${bridgeOf(network)} -m conntrack --ctstate DNAT -m comment --comment "published ports name: \\"${network}\\"" -j ACCEPT`], `the rule of ${network}`);
  }
});

chain('the sweep of down removes the network\'s rule and leaves the shared chain and jump', async () => {
  await acceptPublishedPorts(bridgeOf(networks[0]!), networks[0]!);
  assert.ok(await sweepNetworkRules(networks[0]!, undefined) >= 1, 'the sweep removed something');
  const rules = await forwardRules();
  assert.not.ok(rules.some((rule) => rule.includes(networks[0]!)), `no rule of ${networks[0]} left: ${rules.join('\n')}`);
  assert.ok(rules.some((rule) => rule.includes(networks[1]!)), 'the other network\'s rule stays');
  assert.ok(rules.some((rule) => rule.endsWith(`-j ${FORWARD_CHAIN}`)), 'the jump stays');
});

chain.run();
