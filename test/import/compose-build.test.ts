import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImageBuild } from '../../src/project/model.js';
import { load, loadError } from '../helpers/load.js';

// compose's build: keys as buildah will be told them (args, target, dockerfile_inline, labels,
// secrets, no_cache, pull), and the ones refused at the line the user wrote them.

const build = suite('compose build: carried to buildah, or refused at its line');

const compose = (...buildLines: string[]) => ['secrets:', '  npm_token: { file: ./token.txt }', '  api_key: { environment: API_KEY }', 'services:', '  web:', '    build:', ...buildLines.map((line) => `      ${line}`), ''].join('\n');
const TOKEN = { '/projects/demo/token.txt': 'npm-secret' };

async function buildOf(yaml: string, env: Record<string, string> = {}): Promise<ImageBuild | undefined> {
  const project = await load(yaml, { API_KEY: 'from-env', ...env }, undefined, TOKEN);
  return project.pods[0]!.containers[0]!.image?.build;
}

build('args as a mapping and as a list: a bare NAME takes the environment\'s value, and is left out when unset', async () => {
  const mapping = await buildOf(compose('context: ./web', 'args:', '  VERSION: "1.2"', '  COUNT: 3', '  FROM_ENV:', '  UNSET:'), { FROM_ENV: 'env-value' });
  assert.equal(mapping?.args, { VERSION: '1.2', COUNT: '3', FROM_ENV: 'env-value' }, 'values as strings; a null value from the environment, left out when unset');
  const list = await buildOf(compose('context: ./web', 'args:', '  - VERSION=1.2', '  - EMPTY=', '  - FROM_ENV', '  - UNSET', '  - GREETING=${GREETING:-hi}'), { FROM_ENV: 'env-value' });
  assert.equal(list?.args, { VERSION: '1.2', EMPTY: '', FROM_ENV: 'env-value', GREETING: 'hi' }, 'NAME=value items, bare names from the environment, interpolated as everywhere');
});

build('target, labels, no_cache and pull are carried; a build without them has none of them', async () => {
  const carried = await buildOf(compose('context: ./web', 'target: runtime', 'labels: [com.example.team=web, com.example.empty]', 'no_cache: true', 'pull: true'));
  assert.equal(carried, { context: '/projects/demo/web', dockerfile: 'Dockerfile', target: 'runtime', labels: { 'com.example.team': 'web', 'com.example.empty': '' }, noCache: true, pull: true }, 'each setting as buildah will get it');
  const labels = await buildOf(compose('context: ./web', 'labels: { com.example.team: web }', 'no_cache: false', 'pull: false'));
  assert.equal(labels, { context: '/projects/demo/web', dockerfile: 'Dockerfile', labels: { 'com.example.team': 'web' } }, 'labels as a mapping; false is the default, left out');
  const plain = await buildOf(compose('context: ./web'));
  assert.equal(plain, { context: '/projects/demo/web', dockerfile: 'Dockerfile' }, 'a plain build is what it was before these settings');
});

build('dockerfile_inline: the Dockerfile\'s text, built from a file outside the context', async () => {
  const inline = await buildOf(compose('context: ./web', 'dockerfile_inline: |', '  FROM scratch', '  COPY . /'));
  assert.equal(inline, { context: '/projects/demo/web', dockerfile: 'Dockerfile.inline', dockerfileInline: 'FROM scratch\nCOPY . /\n' }, 'the text as written');
});

build('secrets: top-level secrets of a file or the environment, by name or with the id the Dockerfile uses', async () => {
  const secrets = await buildOf(compose('context: ./web', 'secrets:', '  - npm_token', '  - source: api_key', '    target: key'));
  assert.equal(secrets?.secrets, [{ id: 'npm_token', content: 'npm-secret' }, { id: 'key', content: 'from-env' }], 'the content read while loading; target is the id');
});

const refusals: { name: string; lines: string[]; at: string; says: RegExp; fix: RegExp }[] = [
  { name: 'dockerfile and dockerfile_inline', lines: ['context: .', 'dockerfile: Dockerfile', 'dockerfile_inline: FROM scratch'], at: '9:7', says: /both dockerfile and dockerfile_inline/, fix: /keep one of them/ },
  { name: 'an undefined build secret', lines: ['context: .', 'secrets: [npm_token, missing]'], at: '8:28', says: /the build of service web refers to undefined secret missing/, fix: /define it under secrets: at the top/ },
  { name: 'an undefined build secret in the long form', lines: ['context: .', 'secrets:', '  - source: nothere'], at: '9:11', says: /undefined secret nothere/, fix: /secrets: \{ nothere: \{ file: \.\/nothere\.txt \} \}/ },
  { name: 'the mode of a build secret', lines: ['context: .', 'secrets:', '  - source: npm_token', '    mode: 0400'], at: '10:11', says: /the mode of a build secret is set by the Dockerfile/, fix: /mode= on the RUN --mount=type=secret line/ },
  { name: 'a key still not carried', lines: ['context: .', 'ssh: [default]'], at: '8:7', says: /SSH agent forwarding/, fix: /before the build/ },
];

for (const { name, lines, at, says, fix } of refusals) {
  build(`refused at its line: ${name}`, async () => {
    const error = await loadError(compose(...lines), { API_KEY: 'from-env' });
    assert.is(`${error.where.line}:${error.where.col}`, at, `${name}: at the key as written (${error.message})`);
    assert.match(error.message, says, name);
    assert.match(error.hint ?? '', fix, `${name}: how to fix it`);
  });
}

build.run();
