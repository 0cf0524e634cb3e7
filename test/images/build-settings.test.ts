import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildahSettingArguments, buildSettingsHash, isBuiltAs } from '../../src/images/build-settings.js';
import type { ImageBuild } from '../../src/project/model.js';

// What buildah is told for each build setting, and when an image in the store counts as built with
// the settings the file has now (the builds themselves run in test/cli/build-options.test.ts).

const settings = suite('images: build settings to buildah, and when to build again');
const plain: ImageBuild = { context: '/src/app', dockerfile: 'Dockerfile' };
const files = { dockerfile: '/store/build-1/inputs/Dockerfile.inline', secrets: { npm: '/store/build-1/inputs/secret-0' } };

settings('each setting becomes its buildah argument; none for a plain build', () => {
  assert.equal(buildahSettingArguments(plain, { dockerfile: '/src/app/Dockerfile', secrets: {} }), ['-f', '/src/app/Dockerfile'], 'only the Dockerfile');
  const full: ImageBuild = { ...plain, dockerfile: 'Dockerfile.inline', dockerfileInline: 'FROM scratch\n', args: { A: '1', B: 'two words' }, target: 'runtime', labels: { 'com.example.team': 'web' }, secrets: [{ id: 'npm', content: 'x' }], noCache: true, pull: true };
  assert.equal(buildahSettingArguments(full, files, { tlsVerify: false }), [
    '-f', files.dockerfile, '--build-arg', 'A=1', '--build-arg', 'B=two words', '--target', 'runtime', '--label', 'com.example.team=web',
    '--secret', `id=npm,src=${files.secrets.npm}`, '--no-cache', '--pull=always', '--tls-verify=false',
  ], 'in this order, each value one argument');
  assert.not.ok(buildahSettingArguments(plain, files, { tlsVerify: true }).includes('--tls-verify=false'), 'TLS verified unless told otherwise');
});

settings('an image is built as the file says only with the same settings; a changed arg, target or secret builds again', () => {
  const withArg: ImageBuild = { ...plain, args: { VERSION: '1' } };
  assert.ok(isBuiltAs(buildSettingsHash(withArg), { ...plain, args: { VERSION: '1' } }), 'the same settings');
  for (const [what, changed] of [
    ['an arg', { ...plain, args: { VERSION: '2' } }], ['the target', { ...withArg, target: 'dev' }], ['a label', { ...withArg, labels: { a: 'b' } }],
    ['a secret\'s content', { ...withArg, secrets: [{ id: 's', content: 'new' }] }], ['the Dockerfile', { ...withArg, dockerfile: 'Dockerfile.prod' }],
  ] as const) {
    assert.not.ok(isBuiltAs(buildSettingsHash(withArg), changed), `${what} changed: built again`);
  }
  assert.not.ok(buildSettingsHash({ ...plain, secrets: [{ id: 's', content: 'the-secret' }] }).includes('the-secret'), 'the hash does not hold a secret');
});

settings('an image recorded without a hash (built before it, or pulled) stands for a plain build only', () => {
  assert.ok(isBuiltAs(undefined, plain), 'kept: not rebuilt by the upgrade');
  assert.not.ok(isBuiltAs(undefined, { ...plain, target: 'runtime' }), 'a setting it could not have had: built');
});

settings.run();
