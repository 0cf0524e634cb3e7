import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProjectError } from '../../src/project/errors.js';
import { FILE, load, loadError } from '../helpers/load.js';
import { interpolateString } from '../../src/project/interpolate.js';
import { parseSize, splitCommand } from '../../src/project/normalise.js';

// The loader as a chain of pure stages: files and environment are injected, nothing touches disk.

const minimal = ['pods:', '  web:', '    containers:', '      app:', '        rootfs: ./rootfs', '        command: sleep 60', ''].join('\n');

const errors = suite('project file errors: one error, with line and column');

const errorCases: { name: string; yaml: string[]; line: number; col: number; path: string; says: RegExp; hint: RegExp }[] = [
  {
    name: 'an unknown key, with the close one suggested',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        imagee: busybox', '        command: ["true"]'],
    line: 6, col: 9, path: 'pods.web.containers.app.imagee', says: /unknown key "imagee"/, hint: /allowed keys here: rootfs/,
  },
  {
    name: 'a wrong type',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: 5'],
    line: 6, col: 18, path: 'pods.web.containers.app.command', says: /command must be a string or a list, not a number/, hint: /list of arguments/,
  },
  {
    name: 'a YAML syntax error',
    yaml: ['pods:', '  web:', '    containers: {', '      app: x'],
    line: 5, col: 1, path: '', says: /YAML syntax/, hint: /fix the YAML syntax/,
  },
  {
    name: 'a duplicate key',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        rootfs: /y', '        command: ["true"]'],
    line: 6, col: 9, path: '', says: /YAML syntax: Map keys must be unique/, hint: /each key may appear once/,
  },
  {
    name: 'a mount of an undefined volume',
    yaml: ['volumes:', '  data: {}', 'pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        volumes:', '          - data:/data', '          - cache:/cache'],
    line: 11, col: 13, path: 'pods.web.containers.app.volumes[1]', says: /volume "cache" is not defined/, hint: /use one of: data/,
  },
  {
    name: 'a relative mount target',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        volumes: [{ type: tmpfs, target: cache }]'],
    line: 7, col: 19, path: 'pods.web.containers.app.volumes[0]', says: /not an absolute path/, hint: /from \//,
  },
  {
    name: 'a host volume name on a tmpfs',
    yaml: ['volumes:', '  scratch: { type: tmpfs, name: shared }', 'pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]'],
    line: 2, col: 27, path: 'volumes.scratch.name', says: /name is for named volumes; volume scratch is a tmpfs/, hint: /remove name, or remove type: tmpfs/,
  },
  {
    name: 'a pod name with a capital letter',
    yaml: ['pods:', '  Web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]'],
    line: 2, col: 3, path: 'pods.Web', says: /invalid name "Web"/, hint: /lowercase/,
  },
  {
    name: 'a required variable that is not set',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: ${ROOTFS:?where the image is}', '        command: ["true"]'],
    line: 5, col: 17, path: 'pods.web.containers.app.rootfs', says: /required variable ROOTFS is missing a value: where the image is/, hint: /ROOTFS is not set: set ROOTFS/,
  },
  {
    name: 'a sysctl that is not namespaced',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        sysctls:', '          kernel.panic: 1'],
    line: 8, col: 11, path: 'pods.web.containers.app.sysctls.kernel.panic', says: /kernel.panic is not namespaced/, hint: /net\.\*/,
  },
  {
    name: 'an unknown capability',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        cap_add: [NET_ADMIN, FLY]'],
    line: 7, col: 30, path: 'pods.web.containers.app.cap_add[1]', says: /unknown capability FLY/, hint: /capabilities\(7\)/,
  },
  {
    name: 'a container with nothing to run',
    yaml: ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x'],
    line: 4, col: 7, path: 'pods.web.containers.app', says: /has nothing to run/, hint: /add command/,
  },
];

for (const example of errorCases) {
  errors(example.name, async () => {
    const error = await loadError(`${example.yaml.join('\n')}\n`);
    assert.is(error.where.file, FILE, 'names the file');
    assert.equal([error.where.line, error.where.col], [example.line, example.col], `line and column of: ${error.toString()}`);
    if (example.path) assert.is(error.where.path, example.path, 'the dotted path');
    assert.match(error.message, example.says, 'says what is wrong');
    assert.match(error.hint, example.hint, 'says how to fix it');
  });
}

errors('every schema problem of a file at once, in the order of the file, each with its place', async () => {
  const error = await loadError([
    'pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        comand: ["sh"]', '        memory: lots',
    '  db:', '    restart: sometimes', '    containers:', '      pg:', '        image: 5', '',
  ].join('\n'));
  const all = [error, ...error.others];
  assert.equal(all.map((problem) => [problem.where.line, problem.where.col]), [[6, 9], [7, 9], [9, 14], [12, 16]], error.toString());
  assert.match(all[0]!.hint, /did you mean "command"/);
  assert.match(all[2]!.message, /"sometimes" is not a valid restart/);
  assert.match(all[3]!.message, /image must be a string, not a number/);
  assert.is(error.toString().split('\n').length, 4, 'one line per problem');
});

errors('the problems found after the schema, in different containers and pods, are reported at once too', async () => {
  const error = await loadError([
    'pods:',
    '  web:',
    '    containers:',
    '      app: { rootfs: /x, command: ["true"], cap_add: [FLY] }',
    '      side: { rootfs: /x, command: ["true"], volumes: ["nowhere:/data"] }',
    '  db:',
    '    shm_size: 0',
    '    containers:',
    '      pg: { rootfs: /x }',
    '',
  ].join('\n'));
  const all = [error, ...error.others];
  assert.equal(all.map((problem) => problem.where.line), [4, 5, 7, 9], error.toString());
  assert.match(all[0]!.message, /unknown capability FLY/);
  assert.match(all[1]!.message, /volume "nowhere" is not defined/);
  assert.match(all[2]!.message, /shm_size 0/);
  assert.match(all[3]!.message, /has nothing to run/);
});

errors('checks across pods (here a dependency cycle) still run once every pod is sound', async () => {
  const error = await loadError([
    'pods:',
    '  a:',
    '    depends_on: [b]',
    '    containers: { x: { rootfs: /x, command: ["true"] } }',
    '  b:',
    '    depends_on: [a]',
    '    containers: { y: { rootfs: /x, command: ["true"] } }',
    '',
  ].join('\n'));
  assert.match(error.toString(), /cycle/);
});

const model = suite('project file to desired model');

model('defaults, sorted names, absolute paths and a frozen result', async () => {
  const project = await load(['name: demo', 'pods:', '  web:', '    containers:', '      zeta: { rootfs: ./rootfs, command: sleep 60 }', '      alpha: { rootfs: /abs/rootfs, entrypoint: [sh, -c], command: "echo \'a b\'" }', ''].join('\n'));
  assert.is(project.name, 'demo', 'the name from the file');
  const [pod] = project.pods;
  assert.equal(pod!.share, ['net', 'ipc', 'uts'], 'shares net, ipc and uts by default');
  assert.is(pod!.shmSize, 64 * 1024 * 1024, 'shm is 64 MiB by default');
  assert.is(pod!.hostname, 'web', 'the hostname is the pod name');
  assert.equal(pod!.containers.map((container) => container.name), ['alpha', 'zeta'], 'containers sorted by name');
  assert.equal(pod!.containers[0]!.argv, ['sh', '-c', 'echo', 'a b'], 'entrypoint then command, split like a shell');
  assert.is(pod!.containers[1]!.rootfs, '/projects/demo/rootfs', 'relative paths resolve against the file\'s dir');
  assert.is(pod!.containers[1]!.workdir, '/', 'working dir defaults to /');
  assert.is(pod!.containers[1]!.user, '0:0', 'user defaults to root');
  assert.ok(Object.isFrozen(project) && Object.isFrozen(pod!.containers[0]!.argv), 'the model is frozen');
});

model('the project name: -p, else name:, else the directory', async () => {
  assert.is((await load(minimal)).name, 'demo', 'the directory name');
  assert.is((await load(`name: other\n${minimal}`)).name, 'other', 'name: in the file');
  assert.is((await load(`name: other\n${minimal}`, {}, 'cli')).name, 'cli', '-p wins');
});

model('volumes: named, bind, tmpfs; short and long mount syntax', async () => {
  const project = await load([
    'volumes:', '  data: {}', '  conf: { type: bind, source: ./conf }', '  scratch: { type: tmpfs, size: 8m, mode: "1700" }',
    'pods:', '  web:', '    shm_size: 1g', '    share: [net]', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]',
    '        env: [A=1, B=two=2]',
    '        volumes:', '          - data:/data', '          - conf:/etc/app:ro', '          - scratch:/scratch', '          - ./html:/www:ro',
    '          - { source: data, target: /backup, read_only: true }', '          - { type: tmpfs, target: /cache, tmpfs: { size: 1m } }', '',
  ].join('\n'));
  const [container] = project.pods[0]!.containers;
  assert.equal(container!.env, { A: '1', B: 'two=2' }, 'env from a list');
  assert.is(project.pods[0]!.shmSize, 1024 ** 3, '1g');
  assert.equal(project.pods[0]!.share, ['net'], 'share only net');
  assert.equal(container!.mounts, [
    { volume: 'data', type: 'named', source: '', target: '/data', readOnly: false },
    { volume: 'conf', type: 'bind', source: '/projects/demo/conf', target: '/etc/app', readOnly: true, createHostPath: false },
    { volume: 'scratch', type: 'tmpfs', source: '', target: '/scratch', readOnly: false, size: 8 * 1024 * 1024, mode: 0o1700 },
    { type: 'bind', source: '/projects/demo/html', target: '/www', readOnly: true, createHostPath: true },
    { volume: 'data', type: 'named', source: '', target: '/backup', readOnly: true },
    { type: 'tmpfs', source: '', target: '/cache', readOnly: false, size: 1024 * 1024, mode: 0o1777 },
  ], 'every mount resolved');
});

model('volumes with name: or external: are the host\'s, and their mounts say so', async () => {
  const project = await load([
    'volumes:', '  own: {}', '  shared: { name: cache-of-all }', '  given: { external: true }',
    'pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]',
    '        volumes: [own:/own, shared:/shared, given:/given]', '',
  ].join('\n'));
  assert.equal(project.pods[0]!.containers[0]!.mounts.map((mount) => [mount.volume, mount.host]), [
    ['own', undefined], ['shared', { name: 'cache-of-all', external: false }], ['given', { name: 'given', external: true }],
  ], 'name: names the host volume; external: true alone uses the key');
  assert.equal(project.volumes.find((volume) => volume.name === 'given'), { name: 'given', type: 'named', host: { name: 'given', external: true, where: { file: '/projects/demo/corral.yaml', line: 4, col: 3, path: 'volumes.given' } } }, 'with where the file names it');
});

model('anchors, merge keys and x- extension fields are allowed', async () => {
  const project = await load([
    'x-base: &base', '  rootfs: /x', '  env: { SHARED: "yes" }',
    'pods:', '  web:', '    containers:', '      a: { <<: *base, command: ["true"] }', '      b: { <<: *base, command: ["false"] }', '',
  ].join('\n'));
  assert.equal(project.pods[0]!.containers.map((container) => container.env.SHARED), ['yes', 'yes'], 'merged from the anchor');
});

model('.env feeds interpolation (the environment wins); env_file then env make the container env', async () => {
  const yaml = ['pods:', '  web:', '    containers:', '      app:', '        rootfs: ${ROOTFS}', '        command: ["true"]', '        image_tag_is: ${TAG}',
    '        env_file: [common.env, ./app.env]', '        env: { B: from-env }', ''].join('\n').replace('        image_tag_is: ${TAG}\n', '');
  const project = await load(yaml, { ROOTFS: '/from/environment' }, undefined, {
    '/projects/demo/.env': 'export ROOTFS=/from/dotenv\nTAG="v1" # a comment\n',
    '/projects/demo/common.env': 'A=common\nB=common\nMULTI="line one\nline two"\n',
    '/projects/demo/app.env': 'A=app\n',
  });
  const [container] = project.pods[0]!.containers;
  assert.is(container!.rootfs, '/from/environment', 'the environment wins over .env');
  assert.equal(container!.env, { A: 'app', B: 'from-env', MULTI: 'line one\nline two' }, 'env files in order, then env');
});

model('a missing env_file is an error at its line', async () => {
  const yaml = ['pods:', '  web:', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        env_file: [missing.env]', ''].join('\n');
  try {
    await load(yaml);
    assert.unreachable('should fail');
  } catch (error) {
    assert.instance(error, ProjectError, 'a ProjectError');
    assert.match((error as ProjectError).toString(), /corral\.yaml:7:20: cannot read env_file \/projects\/demo\/missing\.env: ENOENT/, 'names the file and its line');
  }
});

model('.env values feed ${VAR} when the environment has none', async () => {
  const project = await load(minimal.replace('./rootfs', '${ROOT}'), {}, undefined, { '/projects/demo/.env': 'ROOT=/from/dotenv\n' });
  assert.is(project.pods[0]!.containers[0]!.rootfs, '/from/dotenv', 'from .env');
});

const interpolation = suite('interpolation of ${VARIABLES}');

const env: Record<string, string> = { SET: 'value', EMPTY: '' };
const interpolationCases: [string, string][] = [
  ['${SET}', 'value'], ['$SET/x', 'value/x'], ['${UNSET}', ''], ['${UNSET:-fallback}', 'fallback'], ['${EMPTY:-fallback}', 'fallback'],
  ['${EMPTY-fallback}', ''], ['${UNSET-fallback}', 'fallback'], ['${SET:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${EMPTY+alt}', 'alt'],
  ['${UNSET:-${SET}}', 'value'], ['$$SET', '$SET'], ['a $$ b', 'a $ b'], ['${SET:?x}', 'value'],
];
for (const [text, expected] of interpolationCases) {
  interpolation(`"${text}" -> "${expected}"`, () => {
    assert.is(interpolateString(text, (name) => env[name]), expected, text);
  });
}
interpolation('${VAR:?message} fails on unset or empty, ${VAR?message} only on unset', () => {
  assert.throws(() => interpolateString('${EMPTY:?needed}', (name) => env[name]), /required variable EMPTY is missing a value: needed/, ':? on empty');
  assert.is(interpolateString('${EMPTY?needed}', (name) => env[name]), '', '? accepts empty');
  assert.throws(() => interpolateString('${UNSET?needed}', (name) => env[name]), /required variable UNSET is missing a value: needed/, '? on unset');
  assert.is(interpolateString('a $ b', (name) => env[name]), 'a $ b', 'a lone $ stays, as in compose');
});

const helpers = suite('sizes and command splitting');
const sizes: [string | number, number][] = [[1024, 1024], ['512k', 512 * 1024], ['64m', 64 * 1024 ** 2], ['1g', 1024 ** 3], ['1.5m', 1.5 * 1024 ** 2], ['10MiB', 10 * 1024 ** 2]];
for (const [text, bytes] of sizes) helpers(`size ${text}`, () => assert.is(parseSize(text), bytes, String(text)));
helpers('commands split like a shell: words, quotes, escapes', () => {
  assert.equal(splitCommand(`sh -c 'echo "hi there"' a\\ b ""`), ['sh', '-c', 'echo "hi there"', 'a b', ''], 'split');
});

errors.run();
model.run();
interpolation.run();
helpers.run();
