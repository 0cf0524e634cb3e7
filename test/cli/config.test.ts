import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { corral, createSandbox, type Sandbox } from '../helpers/sandbox.js';

// `corral config` on real files: several compose files merged as compose merges them (-f twice, the
// override file found beside compose.yaml, COMPOSE_FILE), !reset and !override, the lists it prints,
// and an error in the second file reported at that file's line.

interface Context { sandbox: Sandbox; dir: string }
const config = suite<Context>('corral config: several compose files, merged');

config.before(async (context) => {
  context.sandbox = await createSandbox('config');
});

config.before.each(async (context) => {
  context.dir = await mkdtemp(path.join(context.sandbox.work, 'app-'));
});

config.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

config.after(async (context) => context.sandbox.dispose());

async function files(dir: string, contents: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(contents)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
}

const BASE = `name: shop
services:
  web:
    image: busybox
    command: [sh, -c, "sleep 1"]
    environment: { A: "1", B: two }
    ports: ["8080:80"]
  debug:
    image: busybox
    profiles: [tools]
volumes:
  data: {}
`;

const OVERRIDE = `services:
  web:
    command: [sleep, "5"]
    environment: [B=three, C=4]
    ports: ["9090:90"]
`;

/** `corral config` in `dir` with `args`, as parsed YAML; fails the test on a non-zero exit. */
async function configOf(context: Context, args: string[], env: Record<string, string> = {}): Promise<Record<string, any>> {
  const result = await corral(context.sandbox, [...args, 'config'], { cwd: context.dir, env });
  assert.is(result.exitCode, 0, `config: ${result.stderr}`);
  return parse(result.stdout) as Record<string, any>;
}

const MERGED_WEB = { image: 'busybox', command: ['sleep', '5'], environment: ['A=1', 'B=three', 'C=4'], ports: ['8080:80', '9090:90'] };

config('two -f: the second merged over the first (command replaced, environment by key, ports appended)', async (context) => {
  await files(context.dir, { 'base.yaml': BASE, 'more/override.yaml': OVERRIDE });
  const document = await configOf(context, ['-f', 'base.yaml', '-f', 'more/override.yaml']);
  assert.equal(document.services, { web: MERGED_WEB }, 'web merged; debug of an inactive profile left out');
  assert.is(document.name, 'shop', 'the name of the file');
});

config('--hash: each container\'s configuration hash, the same for one pod or "*", changed by an override', async (context) => {
  await files(context.dir, { 'base.yaml': BASE, 'more/override.yaml': OVERRIDE });
  const hashes = async (args: string[]) => {
    const result = await corral(context.sandbox, [...args, 'config', '--hash', '*'], { cwd: context.dir });
    assert.is(result.exitCode, 0, result.stderr);
    return result.stdout;
  };
  const base = await hashes(['-f', 'base.yaml']);
  assert.match(base, /^web\/web [0-9a-f]{16,}$/, `one line per container of an active pod: ${base}`);
  const one = await corral(context.sandbox, ['-f', 'base.yaml', 'config', '--hash', 'web'], { cwd: context.dir });
  assert.is(one.stdout, base);
  assert.is.not(await hashes(['-f', 'base.yaml', '-f', 'more/override.yaml']), base, 'the override changes the command: another hash');
  const unknown = await corral(context.sandbox, ['-f', 'base.yaml', 'config', '--hash', 'nosuch'], { cwd: context.dir });
  assert.is(unknown.exitCode, 1);
  assert.match(unknown.stderr, /config --hash: no pod \(service\) nosuch/);
});

config('compose.override.yaml beside compose.yaml is merged without -f', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE, 'compose.override.yaml': OVERRIDE });
  assert.equal((await configOf(context, [])).services.web, MERGED_WEB);
});

config('COMPOSE_FILE naming two files, with COMPOSE_PATH_SEPARATOR', async (context) => {
  await files(context.dir, { 'one.yaml': BASE, 'two.yaml': OVERRIDE });
  assert.equal((await configOf(context, [], { COMPOSE_FILE: 'one.yaml,two.yaml', COMPOSE_PATH_SEPARATOR: ',' })).services.web, MERGED_WEB);
});

config('!reset removes what the first file said; !override replaces it', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE, 'compose.override.yaml': 'services:\n  web:\n    ports: !reset []\n    environment: !override { ONLY: "yes" }\n' });
  const { web } = (await configOf(context, [])).services;
  assert.equal(web, { image: 'busybox', command: ['sh', '-c', 'sleep 1'], environment: { ONLY: 'yes' } });
});

config('each file is interpolated on its own, with the same environment', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE, 'compose.override.yaml': 'services:\n  web:\n    image: "busybox:${TAG:-latest}"\n', '.env': 'TAG=1.36\n' });
  assert.is((await configOf(context, [])).services.web.image, 'busybox:1.36');
});

config('an error in the second file is reported at that file\'s line and column', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE, 'compose.override.yaml': 'services:\n  web:\n    image: busybox\n    privileged: maybe\n' });
  const result = await corral(context.sandbox, ['config'], { cwd: context.dir });
  assert.is(result.exitCode, 1, 'refused as invalid input');
  assert.match(result.stderr, new RegExp(`${path.join(context.dir, 'compose.override.yaml')}:4:17: "maybe" is not a boolean`), result.stderr);
  const warned = await files(context.dir, { 'compose.override.yaml': 'services:\n  web:\n    image: busybox\n    expose: [80]\n' }).then(() => corral(context.sandbox, ['validate'], { cwd: context.dir }));
  assert.is(warned.exitCode, 0, warned.stderr);
  assert.match(warned.stderr, new RegExp(`${path.join(context.dir, 'compose.override.yaml')}:4:5: services\\.web\\.expose: every port is reachable`), 'a warning names the override file too');
});

config('a list in one file and a mapping in the other is refused, naming both', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE, 'compose.override.yaml': 'services:\n  web:\n    ports: "9090:90"\n' });
  const result = await corral(context.sandbox, ['config'], { cwd: context.dir });
  assert.is(result.exitCode, 1);
  assert.match(result.stderr, /compose\.override\.yaml:3:12: services\.web\.ports is a single value here but a list in .*compose\.yaml:7:12/, result.stderr);
});

config('--services, --volumes, --profiles and --format json', async (context) => {
  await files(context.dir, { 'compose.yaml': BASE });
  const lines = async (...args: string[]) => (await corral(context.sandbox, ['config', ...args], { cwd: context.dir })).stdout;
  assert.is(await lines('--services'), 'web', 'services of active profiles');
  assert.is(await lines('--services', '--profile', 'tools'), 'debug\nweb', 'with the profile active');
  assert.is(await lines('--volumes'), 'data');
  assert.is(await lines('--profiles'), 'tools');
  assert.equal(JSON.parse(await lines('--format', 'json')).services.web.ports, ['8080:80'], 'the document as JSON');
  const bad = await corral(context.sandbox, ['config', '--format', 'toml'], { cwd: context.dir });
  assert.is(bad.exitCode, 1, 'an unknown format is refused');
  assert.match(bad.stderr, /use one of yaml, json/);
});

config('include and extends: the included project\'s paths are its directory\'s, the extended service merged under the extending one', async (context) => {
  await files(context.dir, {
    'compose.yaml': 'include: [db/compose.yaml]\nservices:\n  web:\n    extends: { file: common.yaml, service: base }\n    environment: { B: "2" }\n',
    'common.yaml': 'services:\n  base:\n    image: busybox\n    environment: { A: "1" }\n',
    'db/compose.yaml': 'services:\n  db:\n    image: busybox\n    volumes: ["./data:/data"]\n',
  });
  const { services } = await configOf(context, []);
  assert.equal(services.web, { image: 'busybox', environment: ['A=1', 'B=2'] });
  assert.equal(services.db.volumes, [`${path.join(context.dir, 'db/data')}:/data`]);
});

config('a Corral project file is not merged with another', async (context) => {
  await files(context.dir, { 'corral.yaml': 'pods:\n  web:\n    containers:\n      app: { rootfs: /x, command: "true" }\n', 'more.yaml': OVERRIDE });
  const result = await corral(context.sandbox, ['-f', 'corral.yaml', '-f', 'more.yaml', 'config'], { cwd: context.dir });
  assert.is(result.exitCode, 1);
  assert.match(result.stderr, /corral\.yaml: only compose files are merged, and this is a Corral project file/, result.stderr);
});

config.run();
