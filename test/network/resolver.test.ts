import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkName, describeResolverStep, NO_UPSTREAM, planResolver, resolverFileText, resolverNames, type ResolverNetwork } from '../../src/network/resolver.js';

// What the resolver is told is decided from the attachment records and what is there alone: the text
// of a network's file for aardvark-dns, and the steps from the files and process observed to it.

const front: ResolverNetwork = {
  cniName: 'corral-demo.front', gateway: '10.89.7.1',
  entries: [
    { project: 'demo', pod: 'web-2', ip: '10.89.7.3', names: resolverNames('demo', 'web-2', ['web']) },
    { project: 'demo', pod: 'web-1', ip: '10.89.7.2', names: resolverNames('demo', 'web-1', ['web', 'Front-Door']) },
  ],
};
const FRONT_CHECK = checkName(front);
const FRONT_TEXT = `10.89.7.1\ncorral.resolver-check.corral-demo.front 10.89.7.1  ${FRONT_CHECK}\ndemo.web-1 10.89.7.2  web-1,web-1.demo,web,front-door\ndemo.web-2 10.89.7.3  web-2,web-2.demo,web\n`;
const CONFIRM_FRONT = `confirm aardvark-dns serves network corral-demo.front (${FRONT_CHECK} at 10.89.7.1)`;

const text = suite('resolverFileText: aardvark-dns\'s file of a network');

text('the gateway first, then the gateway as the host asking, then one line per pod, sorted, its names lower case and once each', () => {
  assert.is(resolverFileText(front), FRONT_TEXT);
});

text('the check name changes with the pods, so only a reread file answers it', () => {
  const moved: ResolverNetwork = { ...front, entries: [front.entries[0]!, { ...front.entries[1]!, ip: '10.89.7.9' }] };
  assert.match(FRONT_CHECK, /^corral-check-[0-9a-f]{12}$/, 'a DNS label of its own');
  assert.is.not(checkName(moved), FRONT_CHECK, 'a pod moved: another name');
  assert.is(checkName({ ...front, entries: [...front.entries].reverse() }), FRONT_CHECK, 'the same pods in another order: the same name');
});

text('a pod on internal networks alone gets an upstream no query can be sent to; others none of their own', () => {
  const internal: ResolverNetwork = { cniName: 'corral-demo.vault', gateway: '10.89.9.1', entries: [
    { project: 'demo', pod: 'db', ip: '10.89.9.2', names: ['db'], internalOnly: true },
    { project: 'demo', pod: 'api', ip: '10.89.9.3', names: ['api'] },
  ] };
  const lines = resolverFileText(internal).split('\n');
  assert.is(lines[2], 'demo.api 10.89.9.3  api', 'api is on an outward network too: forwarded as usual');
  assert.is(lines[3], `demo.db 10.89.9.2  db ${NO_UPSTREAM}`, 'db: the fifth column, its upstream, is the broadcast address');
});

text('a pod whose alias is its own name lists it once', () => {
  assert.equal(resolverNames('demo', 'db', ['db', 'store']), ['db', 'db.demo', 'store']);
});

text.run();

const plan = suite('planResolver: from what is there to what the records say');

const cases: { name: string; files: [string, string][]; pid?: number; wanted: ResolverNetwork[]; expected: string[] }[] = [
  { name: 'nothing there, a pod attached: write its network, start', files: [], wanted: [front], expected: ['write the names of network corral-demo.front (2 pods)', 'start aardvark-dns', CONFIRM_FRONT] },
  { name: 'files written but the process gone (a crash, a kill): start it', files: [['corral-demo.front', FRONT_TEXT]], wanted: [front], expected: ['start aardvark-dns', CONFIRM_FRONT] },
  { name: 'everything as the records say: nothing to do', files: [['corral-demo.front', FRONT_TEXT]], pid: 42, wanted: [front], expected: [] },
  { name: 'a pod moved: rewrite and reload', files: [['corral-demo.front', '10.89.7.1\n']], pid: 42, wanted: [front], expected: ['write the names of network corral-demo.front (2 pods)', 'reload aardvark-dns (pid 42)', CONFIRM_FRONT] },
  { name: 'a network without pods and a leftover temporary file go, and the rest reloads', files: [['corral-demo.front', FRONT_TEXT], ['corral-demo.back', '10.89.8.1\n'], ['corral-demo.front.tmp', '10.89']], pid: 42, wanted: [front], expected: ['remove the names of network corral-demo.back', 'remove the names of network corral-demo.front.tmp', 'reload aardvark-dns (pid 42)'] },
  { name: 'no pod on any bridge: remove every file and stop', files: [['corral-demo.front', FRONT_TEXT]], pid: 42, wanted: [], expected: ['remove the names of network corral-demo.front', 'stop aardvark-dns (pid 42)'] },
  { name: 'nothing there and nothing wanted: nothing to do', files: [], wanted: [], expected: [] },
];

for (const { name, files, pid, wanted, expected } of cases) {
  plan(name, () => {
    assert.equal(planResolver({ files: new Map(files), ...(pid !== undefined ? { pid } : {}) }, wanted).map(describeResolverStep), expected);
  });
}

plan.run();
