import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeResolverStep, planResolver, resolverFileText, resolverNames, type ResolverNetwork } from '../../src/network/resolver.js';

// What the resolver is told is decided from the attachment records and what is there alone: the text
// of a network's file for aardvark-dns, and the steps from the files and process observed to it.

const front: ResolverNetwork = {
  cniName: 'corral-demo.front', gateway: '10.89.7.1',
  entries: [
    { project: 'demo', pod: 'web-2', ip: '10.89.7.3', names: resolverNames('demo', 'web-2', ['web']) },
    { project: 'demo', pod: 'web-1', ip: '10.89.7.2', names: resolverNames('demo', 'web-1', ['web', 'Front-Door']) },
  ],
};
const FRONT_TEXT = '10.89.7.1\ndemo.web-1 10.89.7.2  web-1,web-1.demo,web,front-door\ndemo.web-2 10.89.7.3  web-2,web-2.demo,web\n';

const text = suite('resolverFileText: aardvark-dns\'s file of a network');

text('the gateway first, then one line per pod, sorted, its names lower case and once each', () => {
  assert.is(resolverFileText(front), FRONT_TEXT);
});

text('a pod whose alias is its own name lists it once', () => {
  assert.equal(resolverNames('demo', 'db', ['db', 'store']), ['db', 'db.demo', 'store']);
});

text.run();

const plan = suite('planResolver: from what is there to what the records say');

const cases: { name: string; files: [string, string][]; pid?: number; wanted: ResolverNetwork[]; expected: string[] }[] = [
  { name: 'nothing there, a pod attached: write its network, start', files: [], wanted: [front], expected: ['write the names of network corral-demo.front (2 pods)', 'start aardvark-dns'] },
  { name: 'files written but the process gone (a crash, a kill): start it', files: [['corral-demo.front', FRONT_TEXT]], wanted: [front], expected: ['start aardvark-dns'] },
  { name: 'everything as the records say: nothing to do', files: [['corral-demo.front', FRONT_TEXT]], pid: 42, wanted: [front], expected: [] },
  { name: 'a pod moved: rewrite and reload', files: [['corral-demo.front', '10.89.7.1\n']], pid: 42, wanted: [front], expected: ['write the names of network corral-demo.front (2 pods)', 'reload aardvark-dns (pid 42)'] },
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
