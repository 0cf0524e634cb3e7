import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { load, loadError } from '../helpers/load.js';

// build: in Corral's own format: the same settings as compose's, as the model holds them for buildah.

const build = suite('project build: settings and errors at their line');

const project = (...buildLines: string[]) => ['secrets:', '  token: { content: the-token }', 'pods:', '  web:', '    containers:', '      app:', '        build:', ...buildLines.map((line) => `          ${line}`), ''].join('\n');

build('every setting in the model, an arg from the environment, a secret with its content', async () => {
  const loaded = await load(project('context: ./app', 'dockerfile: Dockerfile.prod', 'args: [VERSION=2, FROM_ENV, UNSET]', 'target: runtime', 'labels: { com.example.team: web }', 'secrets: [token, { source: token, target: other }]', 'no_cache: true', 'pull: true'), { FROM_ENV: 'yes' });
  assert.equal(loaded.pods[0]!.containers[0]!.image?.build, {
    context: '/projects/demo/app', dockerfile: 'Dockerfile.prod', args: { VERSION: '2', FROM_ENV: 'yes' }, target: 'runtime', labels: { 'com.example.team': 'web' },
    secrets: [{ id: 'token', content: 'the-token' }, { id: 'other', content: 'the-token' }], noCache: true, pull: true,
  }, 'as buildah will be told');
});

build('the string form and a plain mapping stay as they were', async () => {
  const plain = await load(['pods:', '  web:', '    containers:', '      app: { build: ./app }', ''].join('\n'));
  assert.equal(plain.pods[0]!.containers[0]!.image?.build, { context: '/projects/demo/app', dockerfile: 'Dockerfile' }, 'no setting added');
});

const refusals: { name: string; lines: string[]; at: string; says: RegExp }[] = [
  { name: 'dockerfile with dockerfile_inline', lines: ['context: .', 'dockerfile: Dockerfile', 'dockerfile_inline: FROM scratch'], at: '10:11', says: /both dockerfile and dockerfile_inline/ },
  { name: 'an undefined secret', lines: ['context: .', 'secrets: [token, nothere]'], at: '9:28', says: /build secret nothere is not defined/ },
  { name: 'one id twice', lines: ['context: .', 'secrets: [token, { source: token }]'], at: '9:28', says: /build secret id token is given twice/ },
  { name: 'an unknown build key', lines: ['context: .', 'ssh: default'], at: '9:11', says: /unknown key "ssh"/ },
];

for (const { name, lines, at, says } of refusals) {
  build(`refused at its line: ${name}`, async () => {
    const error = await loadError(project(...lines));
    assert.is(`${error.where.line}:${error.where.col}`, at, `${name}: at the key as written (${error.message})`);
    assert.match(error.message, says, name);
  });
}

build.run();
