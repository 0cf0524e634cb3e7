import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BEYOND_THE_SPEC, COMPOSE_KEYS, HOST_PLATFORM } from '../../src/import/compose-keys.js';
import { COMPOSE_VALUE_TYPES, STRING_FORMS } from '../../src/import/compose-types.js';
import { SERVICE_KEYS } from '../../src/import/compose.js';
import { loadProject } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// Every key of the compose specification is carried, refused or warned (src/import/compose-keys.ts):
// the schema (test/fixtures/compose-spec/, vendored) is walked key by key, so a key added to the
// specification fails here until it is named. Then what each fate does to a file, and the typed
// values after interpolation.

type Schema = { [key: string]: unknown; properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; additionalProperties?: Schema | boolean; items?: Schema; oneOf?: Schema[]; anyOf?: Schema[]; allOf?: Schema[]; $ref?: string; type?: string | string[] };

const SPEC = JSON.parse(readFileSync(path.join(repositoryRoot, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8')) as Schema & { definitions: Record<string, Schema> };

const resolve = (node: Schema): Schema => (node.$ref ? resolve(SPEC.definitions[node.$ref.split('/').at(-1)!]!) : node);
const alternatives = (node: Schema): Schema[] => [node, ...[node.oneOf, node.anyOf, node.allOf].flatMap((list) => (list ?? []).map(resolve))];
const typesOf = (node: Schema): Set<string> => new Set(alternatives(resolve(node)).flatMap((one) => [one.type ?? []].flat()));

/** Every key path of the schema (`services.*.ports[].mode`) with the JSON types its value may have; `*` names and `[]` items too. */
function schemaPaths(): Map<string, Set<string>> {
  const paths = new Map<string, Set<string>>();
  const note = (at: string, node: Schema) => paths.set(at, new Set([...(paths.get(at) ?? []), ...typesOf(node)]));
  const walk = (node: Schema, at: string, depth: number) => {
    if (depth > 12) return;
    for (const one of alternatives(resolve(node))) {
      for (const [key, inner] of Object.entries(one.properties ?? {})) {
        const child = at ? `${at}.${key}` : key;
        note(child, inner);
        walk(inner, child, depth + 1);
      }
      const named = [...Object.entries(one.patternProperties ?? {}).filter(([pattern]) => !pattern.startsWith('^x-')).map(([, inner]) => inner),
        ...(typeof one.additionalProperties === 'object' ? [one.additionalProperties] : [])];
      for (const inner of named) {
        note(`${at}.*`, inner);
        walk(inner, `${at}.*`, depth + 1);
      }
      if (one.items && typeof one.items === 'object') {
        note(`${at}[]`, one.items);
        walk(one.items, `${at}[]`, depth + 1);
      }
    }
  };
  walk(SPEC, '', 0);
  return paths;
}

const PATHS = schemaPaths();
/** Key paths only: the last step is a key, not a `*` name or a `[]` item. */
const KEY_PATHS = [...PATHS.keys()].filter((at) => !at.endsWith('*') && !at.endsWith('[]'));

/** The closest ancestor of a key path that the table names, and whether it decides for the whole subtree (refused or warned). */
function coveringFate(at: string) {
  for (let end = at.length; end > 0; end--) {
    if (end < at.length && at[end] !== '.' && at[end] !== '[') continue;
    const fate = COMPOSE_KEYS[at.slice(0, end)];
    if (fate && fate.fate !== 'carried') return fate;
  }
  return undefined;
}

const walk = suite('every key of the compose specification is carried, refused or warned');

walk('the schema has the keys the walk expects (a sanity check of the walk itself)', () => {
  for (const at of ['services.*.ports[].mode', 'services.*.deploy.resources.reservations.devices', 'services.*.volumes[].volume.nocopy', 'services.*.develop.watch[].action', 'volumes.*.name', 'services.*.env_file[].required']) {
    assert.ok(KEY_PATHS.includes(at), `${at} is found`);
  }
  assert.ok(KEY_PATHS.length > 300, `${KEY_PATHS.length} keys`);
});

walk('no key of the schema is in none of the three lists', () => {
  const unnamed = KEY_PATHS.filter((at) => COMPOSE_KEYS[at] === undefined && coveringFate(at) === undefined);
  assert.equal(unnamed, [], 'every key named: carried, refused (with a reason) or warned');
});

walk('every key of the lists is a key of the schema (none misspelt or stale)', () => {
  assert.equal(Object.keys(COMPOSE_KEYS).filter((at) => !PATHS.has(at) && !BEYOND_THE_SPEC.includes(at)), [], 'all in the schema, or named as beyond it');
  assert.equal(BEYOND_THE_SPEC.filter((at) => PATHS.has(at) || !COMPOSE_KEYS[at]), [], 'what is beyond the schema is in the table and not in the schema');
});

walk('every refusal says why and how to rewrite; every warning says why', () => {
  for (const [at, fate] of Object.entries(COMPOSE_KEYS)) {
    if (fate.fate === 'refused') assert.ok(fate.reason.length > 10 && fate.fix.length > 5, `${at}: a reason and a fix`);
    if (fate.fate === 'warned') assert.ok(fate.reason.length > 5, `${at}: a reason`);
  }
});

walk('every carried service key is taken by a concern of the translation', () => {
  const carriedServiceKeys = Object.entries(COMPOSE_KEYS).filter(([at, fate]) => /^services\.\*\.[a-z_]+$/.test(at) && fate.fate === 'carried').map(([at]) => at.slice('services.*.'.length));
  assert.equal(carriedServiceKeys.filter((key) => !Object.hasOwn(SERVICE_KEYS, key)), [], 'none carried in name only');
});

walk('every boolean, integer and number of the schema is converted after interpolation, or has a string form of its own', () => {
  const typed = [...PATHS].filter(([, types]) => ['boolean', 'integer', 'number'].some((type) => types.has(type))).map(([at]) => at);
  assert.equal(typed.filter((at) => COMPOSE_VALUE_TYPES[at] === undefined && !STRING_FORMS.includes(at)), [], 'each typed value in the table of types, or a string form');
  assert.equal(Object.keys(COMPOSE_VALUE_TYPES).filter((at) => !PATHS.has(at)), [], 'each typed path is in the schema');
  for (const [at, type] of Object.entries(COMPOSE_VALUE_TYPES)) {
    const types = PATHS.get(at)!;
    assert.ok(types.has(type) || (type === 'integer' && types.has('number')) || (type === 'number' && types.has('integer')), `${at}: the schema allows ${type}`);
  }
});

/** Loads a compose file from text: the project, the warnings, or the error. */
async function loadCompose(lines: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const warnings: string[] = [];
  try {
    const project = await loadProject({ file: '/p/compose.yaml', readFile: async (file) => files[file] ?? [...lines, ''].join('\n'), lookupEnv: (name) => env[name], onWarning: (warning) => warnings.push(warning) });
    return { project, warnings, error: undefined };
  } catch (error) {
    assert.instance(error, ProjectError, String(error));
    return { project: undefined, warnings, error: error as ProjectError };
  }
}

const service = (...lines: string[]) => ['services:', '  web:', '    image: nginx', ...lines.map((line) => `    ${line}`)];

const fates = suite('what each fate does to a compose file');

const REFUSALS: { name: string; lines: string[]; at: string; says: RegExp }[] = [
  { name: 'gpus', lines: service('gpus: all'), at: '4:5', says: /asks for a GPU, but this host has none/ },
  { name: 'a GPU device reservation', lines: service('deploy:', '  resources:', '    reservations:', '      devices: [{ capabilities: [gpu] }]'), at: '7:21', says: /asks for a GPU, but this host has none/ },
  { name: 'volume nocopy: false', lines: service('volumes: [{ type: volume, source: d, target: /d, volume: { nocopy: false } }]'), at: '4:64', says: /never copies/ },
  { name: 'env_file of another format', lines: service('env_file: [{ path: ./a.env, format: raw }]'), at: '4:33', says: /another format is not supported/ },
  { name: 'watch action rebuild on a service without build:', lines: service('develop:', '  watch: [{ path: ./src, action: rebuild }]'), at: '5:38', says: /without build: there is no image to rebuild/ },
  { name: 'an external volume with driver options', lines: [...service('volumes: [data:/d]'), 'volumes:', '  data: { external: true, driver_opts: { type: none, o: bind, device: /srv } }'], at: '6:11', says: /external and driver_opts conflict/ },
  { name: 'an external secret', lines: [...service('secrets: [db]'), 'secrets:', '  db: { external: true }'], at: '6:9', says: /swarm/ },
  { name: 'a volume of another driver', lines: [...service('volumes: [data:/d]'), 'volumes:', '  data: { driver_opts: { type: nfs, o: addr=10.0.0.1, device: ":/x" } }'], at: '6:11', says: /only a bind/ },
  { name: 'a mount of type image', lines: service('volumes: [{ type: image, source: alpine, target: /a }]'), at: '4:23', says: /type image/ },
  { name: 'a tmpfs option that changes the mount', lines: service('tmpfs: ["/t:noexec"]'), at: '4:13', says: /noexec/ },
  { name: 'a key compose does not know', lines: service('imagee: x'), at: '4:5', says: /imagee is not a key of the compose specification/ },
  { name: 'a misplaced key inside deploy', lines: service('deploy: { resources: { limits: { memroy: 1g } } }'), at: '4:38', says: /memroy is not a key/ },
  { name: 'an SELinux relabel in the short volume form', lines: service('volumes: ["./d:/d:z"]'), at: '4:15', says: /mount options z are not supported/ },
];
for (const refusal of REFUSALS) {
  fates(`refused at its line: ${refusal.name}`, async () => {
    const { error } = await loadCompose(refusal.lines);
    assert.ok(error, 'refused');
    assert.match(error!.toString(), new RegExp(`^/p/compose\\.yaml:${refusal.at}: `), `at ${refusal.at}: ${error!.toString()}`);
    assert.match(error!.message, refusal.says, 'with its reason');
    assert.ok(error!.hint.length > 0, 'and how to rewrite it');
  });
}

fates('warned at its line, and the project loads: version, expose, ports[].app_protocol; ports[].mode is carried; extensions pass', async () => {
  const { project, warnings } = await loadCompose(['version: "3.8"', 'x-common: &common { a: 1 }', 'services:', '  web:', '    image: nginx', '    x-note: hi', '    expose: [80]', '    ports: [{ target: 80, published: 8080, mode: host, app_protocol: http }]']);
  assert.ok(project, 'loads');
  assert.equal(warnings.map((warning) => warning.replace(/: [^:]*$/, '')), [
    '/p/compose.yaml:1:1: version', '/p/compose.yaml:7:5: services.web.expose', '/p/compose.yaml:8:56: services.web.ports[0].app_protocol',
  ], 'each named at its line, x- keys not');
  assert.equal(project!.pods[0]!.network.ports.map((port) => `${port.hostPort}:${port.containerPort}`), ['8080:80'], 'mode: host publishes on this host, as ingress would');
});

fates('a volume\'s name: and external: make it a host volume, named as compose names it; the old external: { name: } form too', async () => {
  const { project, warnings, error } = await loadCompose([...service('volumes: [own:/o, named:/n, ext:/e, old:/x, both:/b]'), 'volumes:', '  own: {}', '  named: { name: shared-data }',
    '  ext: { external: true }', '  old: { external: { name: Legacy.Vol } }', '  both: { name: made-elsewhere, external: true }']);
  assert.is(error, undefined, String(error));
  assert.equal(warnings, [], 'carried, nothing to say');
  assert.equal(project!.volumes.map((volume) => [volume.name, volume.type === 'named' ? volume.host && { name: volume.host.name, external: volume.host.external, at: `${volume.host.where.line}:${volume.host.where.col}` } : undefined]), [
    ['both', { name: 'made-elsewhere', external: true, at: '10:3' }],
    ['ext', { name: 'ext', external: true, at: '8:3' }],
    ['named', { name: 'shared-data', external: false, at: '7:3' }],
    ['old', { name: 'Legacy.Vol', external: true, at: '9:3' }],
    ['own', undefined],
  ], 'the project\'s own volume stays its own; the others are the host\'s, each found at its line');
  assert.equal(project!.pods[0]!.containers[0]!.mounts.map((mount) => [mount.target, mount.host?.name]), [['/o', undefined], ['/n', 'shared-data'], ['/e', 'ext'], ['/x', 'Legacy.Vol'], ['/b', 'made-elsewhere']], 'each mount knows its host volume');
});

fates('short volume options of macOS are warned, nocopy is what Corral does', async () => {
  const { project, warnings } = await loadCompose(service('volumes: ["./a:/a:cached", "./b:/b:ro,nocopy"]'));
  assert.equal(project!.pods[0]!.containers[0]!.mounts.map((mount) => `${mount.target}${mount.readOnly ? ':ro' : ''}`), ['/a', '/b:ro'], 'both mounted');
  assert.equal(warnings, ['/p/compose.yaml:4:15: services.web.volumes[0]: mount options cached are macOS settings with no effect on Linux; ignored'], 'cached named');
});

fates('values that are what Corral does anyway are carried: init: false, scale: 1, nocopy: true, required: true, platform of this host', async () => {
  const { project, warnings, error } = await loadCompose([...service('init: false', 'scale: 1', 'tty: false', `platform: ${HOST_PLATFORM}`, 'env_file: [{ path: ./a.env, required: true }]',
    'volumes: [{ type: volume, source: d, target: /d, volume: { nocopy: true } }]'), 'volumes: { d: {} }'], {}, { '/p/a.env': 'A=1\n' });
  assert.is(error, undefined, String(error));
  assert.ok(project, 'loads');
  assert.equal(warnings, [], 'nothing to say');
});

fates('develop.watch exec: user, working_dir, environment (mapping or list) and privileged reach the rule', async () => {
  const { project, error } = await loadCompose(service('develop:', '  watch:',
    '    - { path: ./a, action: sync+exec, target: /a, exec: { command: make, user: "1000", working_dir: /a, environment: { A: "1" }, privileged: true } }',
    '    - { path: ./b, action: sync+exec, target: /b, exec: { command: [make, b], environment: ["B=2"] } }'));
  assert.is(error, undefined, String(error));
  assert.equal(project!.pods[0]!.containers[0]!.watch!.map((rule) => rule.exec), [
    { argv: ['make'], user: '1000', privileged: true, workdir: '/a', env: { A: '1' } },
    { argv: ['make', 'b'], privileged: false, env: { B: '2' } },
  ]);
});

fates('develop.watch include, and ignore as one string or a list, reach the rule; an x- key passes', async () => {
  const { project, error } = await loadCompose(service('develop:', '  watch:',
    '    - { path: ./a, action: sync, target: /a, ignore: "*.tmp", include: "*.js", x-note: hi }',
    '    - { path: ./b, action: sync, target: /b, ignore: ["*.log", "tmp/"], include: ["src/", "*.json"] }'));
  assert.is(error, undefined, String(error));
  assert.equal(project!.pods[0]!.containers[0]!.watch!.map((rule) => [rule.ignore, rule.include]), [[['*.tmp'], ['*.js']], [['*.log', 'tmp/'], ['src/', '*.json']]]);
});

fates('develop.watch action rebuild on a service with build: is carried', async () => {
  const { project, error } = await loadCompose(['services:', '  web:', '    build: ./web', '    develop:', '      watch: [{ path: ./web/src, action: rebuild }]']);
  assert.is(error, undefined, String(error));
  const [container] = project!.pods[0]!.containers;
  assert.equal(container!.watch!.map((rule) => [rule.action, rule.path]), [['rebuild', '/p/web/src']]);
  assert.ok(container!.image?.build, 'the image it rebuilds');
});

const types = suite('typed values after interpolation');

types('booleans and numbers from variables are typed as compose types them', async () => {
  const { project, error } = await loadCompose(service('privileged: ${P:-false}', 'read_only: "${RO}"', 'cpus: ${C:-0.5}', 'scale: ${N}', 'mem_limit: ${M:-64m}', 'pids_limit: "${PIDS:-40}"',
    'healthcheck: { test: [CMD, "true"], retries: "${R:-4}" }', 'ports: [{ target: "${T:-80}", published: "8080" }]'), { RO: 'yes', N: '1' });
  assert.is(error, undefined, String(error));
  const [container] = project!.pods[0]!.containers;
  assert.is(container!.security.privileged, false, 'privileged: ${P:-false} is false');
  assert.is(container!.security.readOnlyRootfs, true, 'yes is true, as compose-go takes it');
  assert.equal(container!.resources, { cpus: 0.5, memoryBytes: 64 * 1024 ** 2, pidsLimit: 40 }, 'cpus a number, mem_limit a size, pids_limit an integer');
  assert.is(container!.lifecycle.healthcheck?.retries, 4, 'retries an integer');
  assert.equal(project!.pods[0]!.network.ports.map((port) => `${port.hostPort}:${port.containerPort}`), ['8080:80'], 'the port target a number');
});

types('a value that does not convert is refused at its line, naming the type wanted', async () => {
  for (const [line, says] of [['privileged: ${P:-maybe}', /"maybe" is not a boolean/], ['cpus: ${C:-half}', /"half" is not a number/], ['scale: "2.5"', /"2.5" is not an integer/]] as const) {
    const { error } = await loadCompose(service(line));
    assert.ok(error, `${line} refused`);
    assert.match(error!.toString(), /^\/p\/compose\.yaml:4:\d+: /, `at its line: ${error!.toString()}`);
    assert.match(error!.message, says, 'names the type');
    assert.match(error!.hint, /write /, 'says what to write');
  }
});

walk.run();
fates.run();
types.run();
