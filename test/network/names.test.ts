import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hostsFileFor, resolvConfFor } from '../../src/network/names.js';
import type { Pod } from '../../src/project/model.js';
import { baselinePod, baselineProject } from '../helpers/fixtures.js';

// What a pod's /etc/hosts and /etc/resolv.conf say is decided from the model alone (and, for DNS
// the file leaves out, from the host's resolv.conf): a baseline pod and a table of small changes.

const project = baselineProject();
const withNetwork = (network: Partial<Pod['network']>, overrides: Partial<Pod> = {}) => baselinePod({ ...overrides, network: { ...baselinePod().network, ...network } });

const hosts = suite('hostsFileFor: the pod, the project\'s other pods, extra hosts');

const LOCALHOST = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback';

const hostsCases: { name: string; pod: Pod; addresses: [string, string][]; expected: string }[] = [
  {
    name: 'not attached: its own names on 127.0.1.1',
    pod: baselinePod(), addresses: [],
    expected: `${LOCALHOST}\n127.0.1.1\tweb web.demo\n`,
  },
  {
    name: 'attached: its own names on its address',
    pod: baselinePod(), addresses: [['web', '10.89.7.2']],
    expected: `${LOCALHOST}\n10.89.7.2\tweb web.demo\n`,
  },
  {
    name: 'a hostname of its own comes first, and the pod\'s names follow',
    pod: baselinePod({ hostname: 'front' }), addresses: [['web', '10.89.7.2']],
    expected: `${LOCALHOST}\n10.89.7.2\tfront web web.demo\n`,
  },
  {
    name: 'the other pods by name, sorted, each with its project-qualified name',
    pod: baselinePod(), addresses: [['web', '10.89.7.2'], ['db', '10.89.7.4'], ['cache', '10.89.7.3']],
    expected: `${LOCALHOST}\n10.89.7.2\tweb web.demo\n10.89.7.3\tcache cache.demo\n10.89.7.4\tdb db.demo\n`,
  },
  {
    name: 'extra_hosts come last, as written',
    pod: withNetwork({ extraHosts: [{ host: 'registry', ip: '192.168.1.10' }, { host: 'mirror', ip: '192.168.1.11' }] }), addresses: [],
    expected: `${LOCALHOST}\n127.0.1.1\tweb web.demo\n192.168.1.10\tregistry\n192.168.1.11\tmirror\n`,
  },
];

for (const { name, pod, addresses, expected } of hostsCases) {
  hosts(name, () => {
    assert.is(hostsFileFor(pod, project, new Map(addresses.map(([name, ip]) => [name, new Map([['default', ip]])]))), expected, 'the hosts file, line for line');
  });
}

hosts.run();

const resolv = suite('resolvConfFor: the file\'s dns and dns_search');

const resolvCases: { name: string; network: Partial<Pod['network']>; expected: string }[] = [
  { name: 'one server and one search domain', network: { dns: ['1.1.1.1'], dnsSearch: ['example.org'] }, expected: 'nameserver 1.1.1.1\nsearch example.org\n' },
  { name: 'servers in the order written', network: { dns: ['9.9.9.9', '1.1.1.1'], dnsSearch: ['a.example', 'b.example'] }, expected: 'nameserver 9.9.9.9\nnameserver 1.1.1.1\nsearch a.example b.example\n' },
  { name: 'a loopback server written in the file is kept: the user asked for it', network: { dns: ['127.0.0.53'], dnsSearch: ['lan'] }, expected: 'nameserver 127.0.0.53\nsearch lan\n' },
];

for (const { name, network, expected } of resolvCases) {
  resolv(name, async () => {
    assert.is(await resolvConfFor(withNetwork(network)), expected, 'resolv.conf as written');
  });
}

resolv('without dns: in the file, no loopback server of the host reaches a bridged pod', async () => {
  const text = await resolvConfFor(withNetwork({ dnsSearch: ['lan'] }));
  const servers = [...text.matchAll(/^nameserver (\S+)$/gm)].map((match) => match[1]!);
  assert.ok(servers.every((server) => !server.startsWith('127.')), `no 127.x server in ${JSON.stringify(text)}`);
  assert.ok(text.endsWith('search lan\n'), 'the file\'s search domains still apply');
});

resolv.run();
