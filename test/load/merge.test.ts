import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseSourceText } from '../../src/import/documents.js';
import { mergeComposeLayers, type ComposeLayer } from '../../src/load/merge.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// The merge of several compose files, pure: compose-go's own cases (its override package's tests),
// then the merge tags and the positions each merged value keeps.

const layer = (text: string, file: string): ComposeLayer => {
  const { parsed, tags } = parseSourceText(text, file);
  return { parsed, data: parsed.data, tags };
};

const merged = (...texts: string[]) => mergeComposeLayers(texts.map((text, index) => layer(text, `/p/file${index + 1}.yaml`)));

const composeGo = suite('compose-go\'s merge cases (override/merge_*_test.go)');

interface MergeCase { name: string; source: string; base: string; override: string; expected: string }
const { cases } = JSON.parse(readFileSync(path.join(repositoryRoot, 'test/fixtures/import/compose-go/merge-cases.json'), 'utf8')) as { cases: MergeCase[] };

for (const one of cases) {
  composeGo(`${one.source}: ${one.name}`, () => {
    assert.equal(merged(one.base, one.override).data, parse(one.expected), 'merged as compose-go merges it');
  });
}

const rules = suite('compose\'s merge rules, as Corral applies them');

rules('mappings merge key by key; a single value of the later file wins', () => {
  const result = merged('services:\n  web:\n    image: a\n    user: "1"\n', 'services:\n  web:\n    image: b\n  db:\n    image: c\n');
  assert.equal(result.data, { services: { web: { image: 'b', user: '1' }, db: { image: 'c' } } });
});

rules('command, entrypoint and healthcheck.test are replaced, never appended', () => {
  const result = merged('services:\n  web:\n    command: [a, b]\n    entrypoint: [sh, -c]\n    healthcheck: { test: [CMD, x], interval: 5s }\n',
    'services:\n  web:\n    command: [c]\n    entrypoint: [bash]\n    healthcheck: { test: [CMD, y] }\n');
  assert.equal(result.data, { services: { web: { command: ['c'], entrypoint: ['bash'], healthcheck: { test: ['CMD', 'y'], interval: '5s' } } } });
});

rules('ports are appended, one of the same host ip, published port, target and protocol replaced in place', () => {
  const result = merged('services:\n  web:\n    ports: ["8080:80", { target: 443, published: 8443 }]\n',
    'services:\n  web:\n    ports: ["8080:80", "9090:90", { target: 443, published: 8443, host_ip: 0.0.0.0, protocol: tcp }]\n');
  assert.equal((result.data as any).services.web.ports, ['8080:80', { target: 443, published: 8443, host_ip: '0.0.0.0', protocol: 'tcp' }, '9090:90']);
});

rules('volumes, secrets and configs are merged by target', () => {
  const result = merged('services:\n  web:\n    volumes: ["./a:/data", "logs:/logs"]\n    secrets: [token, { source: key, target: /etc/key }]\n',
    'services:\n  web:\n    volumes: [{ type: bind, source: ./b, target: /data }]\n    secrets: [{ source: other, target: /run/secrets/token }, { source: key2, target: /etc/key }]\n');
  const web = (result.data as any).services.web;
  assert.equal(web.volumes, [{ type: 'bind', source: './b', target: '/data' }, 'logs:/logs']);
  assert.equal(web.secrets, [{ source: 'other', target: '/run/secrets/token' }, { source: 'key2', target: '/etc/key' }]);
});

rules('environment, labels and extra_hosts merge by key whether each file writes a list or a mapping', () => {
  const result = merged('services:\n  web:\n    environment: [A=1, B=2]\n    labels: { x: "1" }\n    extra_hosts: ["db:10.0.0.1"]\n    dns: [1.1.1.1]\n    expose: ["80"]\n',
    'services:\n  web:\n    environment: { B: "3", C: null }\n    labels: [x=2, y=3]\n    extra_hosts: ["db:10.0.0.1", "cache:10.0.0.2"]\n    dns: [1.1.1.1, 8.8.8.8]\n    expose: ["80", "81"]\n');
  const web = (result.data as any).services.web;
  assert.equal(web.environment, ['A=1', 'B=3', 'C'], 'B of the later file in its place');
  assert.equal(web.labels, ['x=2', 'y=3']);
  assert.equal(web.extra_hosts, ['db:10.0.0.1', 'cache:10.0.0.2']);
  assert.equal(web.dns, ['1.1.1.1', '8.8.8.8']);
  assert.equal(web.expose, ['80', '81']);
});

rules('!reset removes a value of the earlier files; !override replaces it instead of merging', () => {
  const result = merged('services:\n  web:\n    image: a\n    ports: ["8080:80"]\n    environment: { A: "1", B: "2" }\n    labels: { keep: "1" }\n',
    'services:\n  web:\n    ports: !reset []\n    environment: !override { C: "3" }\n    labels: { more: "2" }\n');
  assert.equal(result.data, { services: { web: { image: 'a', environment: { C: '3' }, labels: ['keep=1', 'more=2'] } } });
});

rules('!reset in a single file removes the value, as compose does', () => {
  assert.equal(merged('services:\n  web:\n    image: a\n    user: !reset "0"\n').data, { services: { web: { image: 'a' } } });
});

const positions = suite('merged values keep the file, line and column they came from');

positions('a value of the second file is located in the second file; one of the first in the first', () => {
  const result = merged('services:\n  web:\n    image: a\n    ports: ["8080:80"]\n', '# override\nservices:\n  web:\n    user: "1"\n    ports: ["9090:90"]\n');
  assert.equal(result.locate(['services', 'web', 'user']), { line: 4, col: 11, file: '/p/file2.yaml' }, 'user: from file2');
  assert.equal(result.locate(['services', 'web', 'image']), { line: 3, col: 12, file: '/p/file1.yaml' }, 'image: from file1');
  assert.equal(result.locate(['services', 'web', 'ports', 1]), { line: 5, col: 13, file: '/p/file2.yaml' }, 'the appended port from file2');
  assert.equal(result.locate(['services', 'web', 'ports', 0]), { line: 4, col: 13, file: '/p/file1.yaml' }, 'the first port from file1');
  assert.equal(result.locate(['services', 'web', 'user'], { key: true }), { line: 4, col: 5, file: '/p/file2.yaml' }, 'the key of user:');
});

positions('a mapping in one file and a list in the other is refused at the later file, naming the earlier', () => {
  try {
    merged('services:\n  web:\n    environment: { A: "1" }\n    ulimits: { nofile: 10 }\n', 'services:\n  web:\n    ulimits: [nofile]\n');
    assert.unreachable('refused');
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    assert.equal([error.where.file, error.where.line, error.where.col], ['/p/file2.yaml', 3, 14], 'at the list of file2');
    assert.match(error.message, /ulimits is a list here but a mapping in \/p\/file1\.yaml:4:14/);
  }
});

composeGo.run();
rules.run();
positions.run();
