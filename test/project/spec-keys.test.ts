import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FILE, load, loadError } from '../helpers/load.js';
import { configHash } from '../../src/plan/hash.js';

// hostname, labels, subpath, create_host_path, share: pid, network/ipc/pid, userns, secrets and
// configs, profiles: what each becomes in the model, and each bad value refused at its line.

const pod = (...lines: string[]) => ['pods:', '  web:', ...lines].join('\n');
const app = (...lines: string[]) => pod('    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', ...lines.map((line) => `        ${line}`));

const model = suite('the rest of the project file in the model');

model('hostname and labels of a container; labels of a pod as a mapping or a list', async () => {
  const project = await load(pod('    labels: [team=web, tier]', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        hostname: box1', '        labels: { com.example.role: api, version: 2 }', ''));
  const [container] = project.pods[0]!.containers;
  assert.is(container!.hostname, 'box1', 'own hostname');
  assert.equal(container!.labels, { 'com.example.role': 'api', version: '2' }, 'labels as strings');
  assert.equal(project.pods[0]!.labels, { team: 'web', tier: '' }, 'a list, a bare name is empty');
});

model('namespace modes: defaults follow share, explicit ones, and container:POD/CONTAINER orders the start', async () => {
  const project = await load([
    'pods:', '  web:', '    share: [net, uts, pid]', '    containers:',
    '      app: { rootfs: /x, command: ["true"] }',
    '      side: { rootfs: /x, command: ["true"], network: none, ipc: host, pid: container:other/db }',
    '  other:', '    containers:', '      db: { rootfs: /x, command: ["true"], network: container:web/app }', '',
  ].join('\n'));
  const [web, other] = [project.pods.find((p) => p.name === 'web')!, project.pods.find((p) => p.name === 'other')!];
  assert.equal(web.share, ['net', 'uts', 'pid'], 'pid shared');
  assert.equal(web.containers[0]!.namespaces, { network: { kind: 'pod' }, ipc: { kind: 'none' }, pid: { kind: 'pod' } }, 'defaults from share');
  assert.equal(web.containers[1]!.namespaces, { network: { kind: 'none' }, ipc: { kind: 'host' }, pid: { kind: 'container', pod: 'other', container: 'db' } }, 'as written');
  assert.equal(other.containers[0]!.lifecycle.dependsOn, [{ resource: 'web/app', condition: 'started' }], 'db starts after the container it joins');
  assert.equal(web.containers[1]!.lifecycle.dependsOn, [{ resource: 'other/db', condition: 'started' }], 'side after db');
});

model('userns: auto, explicit maps', async () => {
  const auto = await load(app('userns: auto', ''));
  assert.equal(auto.pods[0]!.containers[0]!.userns, { auto: true }, 'auto');
  const explicit = await load(app('userns: { uid_map: ["0:200000:1000", "1000:300000:1"], gid_map: ["0:200000:65536"] }', ''));
  assert.equal(explicit.pods[0]!.containers[0]!.userns, {
    uidMappings: [{ containerId: 0, hostId: 200000, size: 1000 }, { containerId: 1000, hostId: 300000, size: 1 }],
    gidMappings: [{ containerId: 0, hostId: 200000, size: 65536 }],
  }, 'the maps');
  assert.is((await load(app(''))).pods[0]!.containers[0]!.userns, undefined, 'none by default');
});

model('subpath and create_host_path on mounts', async () => {
  const project = await load(['volumes:', '  data: {}', '  site: { type: bind, source: ./site, create_host_path: true }', app(
    'volumes:', '  - { source: data, target: /a, subpath: app/one }', '  - { type: bind, source: ./b, target: /b }', '  - { type: bind, source: ./c, target: /c, create_host_path: true }',
    '  - site:/site', '  - ./short:/short', '')].join('\n'));
  const mounts = project.pods[0]!.containers[0]!.mounts;
  assert.is(mounts[0]!.subpath, 'app/one', 'subpath');
  assert.equal(mounts.slice(1).map((mount) => mount.createHostPath), [false, true, true, true], 'long form refuses unless asked; the short form and the volume as defined create');
});

model('secrets and configs: file, environment, content; names and long forms; content in the hash', async () => {
  const yaml = [
    'secrets:', '  db_password: { file: ./secrets/db.txt }', '  token: { environment: API_TOKEN }',
    'configs:', '  nginx: { content: "server {}" }',
    app('secrets: [db_password, { source: token, target: api-token, mode: "0440", uid: 33, gid: 33 }]', 'configs: [{ source: nginx, target: /etc/nginx/nginx.conf }]', ''),
  ].join('\n');
  const files = { '/projects/demo/secrets/db.txt': 's3cret\n' };
  const project = await load(yaml, { API_TOKEN: 'abc' }, undefined, files);
  const [container] = project.pods[0]!.containers;
  assert.equal(container!.files, [
    { kind: 'config', name: 'nginx', target: '/etc/nginx/nginx.conf', mode: 0o444, content: 'server {}' },
    { kind: 'secret', name: 'token', target: '/run/secrets/api-token', mode: 0o440, uid: 33, gid: 33, content: 'abc' },
    { kind: 'secret', name: 'db_password', target: '/run/secrets/db_password', mode: 0o400, content: 's3cret\n' },
  ].sort((a, b) => (a.target < b.target ? -1 : 1)), 'every file with its target, mode and content');
  assert.ok(project.sources.includes('/projects/demo/secrets/db.txt'), 'the secret file is watched');
  const changed = await load(yaml, { API_TOKEN: 'other' }, undefined, files);
  assert.is.not(configHash(changed.pods[0]!.containers[0]!, changed.pods[0]!), configHash(container!, project.pods[0]!), 'a changed secret changes the hash');
});

model('profiles: inactive pods and containers are left out, --profile and CORRAL_PROFILES activate them', async () => {
  const yaml = [
    'pods:', '  web:', '    containers:', '      app: { rootfs: /x, command: ["true"] }', '      debug: { rootfs: /x, command: ["true"], profiles: [debug] }',
    '  tools:', '    profiles: [tools, debug]', '    containers:', '      shell: { rootfs: /x, command: ["true"] }', '',
  ].join('\n');
  const names = (project: Awaited<ReturnType<typeof load>>) => project.pods.flatMap((p) => p.containers.map((c) => `${p.name}/${c.name}`));
  assert.equal(names(await load(yaml)), ['web/app'], 'no profile: only what has none');
  assert.equal(names(await load(yaml, { CORRAL_PROFILES: 'debug' })), ['tools/shell', 'web/app', 'web/debug'], 'debug');
  assert.equal(names(await load(yaml, { CORRAL_PROFILES: 'tools' })), ['tools/shell', 'web/app'], 'tools');
});

const errors = suite('the rest of the project file: bad values at their line and column');

const cases: { name: string; yaml: string; line: number; col: number; says: RegExp; hint: RegExp; env?: Record<string, string> }[] = [
  { name: 'a hostname with a space', yaml: app('hostname: "a b"'), line: 7, col: 19, says: /is not a valid hostname|hostname/, hint: /./ },
  { name: 'a reserved label', yaml: app('labels: { corral.hash: x }'), line: 7, col: 17, says: /label corral.hash is reserved/, hint: /another prefix/ },
  { name: 'an unknown namespace mode', yaml: app('network: bridge0'), line: 7, col: 18, says: /"bridge0" is not a valid network/, hint: /container:POD\/CONTAINER/ },
  { name: 'network: pod in a pod that does not share net', yaml: pod('    share: [ipc]', '    containers:', '      app:', '        rootfs: /x', '        command: ["true"]', '        network: pod'), line: 8, col: 18, says: /the pod does not share net/, hint: /add net to the pod's share/ },
  { name: 'a container that is not in the project', yaml: app('pid: container:web/nope'), line: 7, col: 14, says: /pid names container web\/nope, which is not in the project/, hint: /one of: web\/app/ },
  { name: 'joining itself', yaml: app('ipc: container:web/app'), line: 7, col: 14, says: /cannot join its own ipc namespace/, hint: /another container/ },
  { name: 'share: an unknown namespace', yaml: pod('    share: [net, user]', '    containers:', '      app: { rootfs: /x, command: ["true"] }'), line: 3, col: 18, says: /share\[1\] must be one of "net", "ipc", "uts", "pid"/, hint: /./ },
  { name: 'a userns map without root', yaml: app('userns: { uid_map: ["1:100000:10"], gid_map: ["0:100000:10"] }'), line: 7, col: 28, says: /uid_map does not map the container's root/, hint: /0:HOST_ID:SIZE/ },
  { name: 'overlapping userns ranges', yaml: app('userns: { uid_map: ["0:100000:10", "5:200000:10"], gid_map: ["0:100000:10"] }'), line: 7, col: 44, says: /overlaps entry 0/, hint: /ids of its own/ },
  { name: 'a bad userns value', yaml: app('userns: keep-id'), line: 7, col: 17, says: /userns must be/, hint: /auto/ },
  { name: 'a subpath that leaves the volume', yaml: ['volumes: { data: {} }', app('volumes: [{ source: data, target: /a, subpath: ../etc }]')].join('\n'), line: 8, col: 56, says: /leads outside the volume/, hint: /inside the volume/ },
  { name: 'a subpath on a tmpfs', yaml: app('volumes: [{ type: tmpfs, target: /a, subpath: x }]'), line: 7, col: 55, says: /tmpfs has no subpath/, hint: /remove subpath/ },
  { name: 'create_host_path on a named volume', yaml: ['volumes: { data: {} }', app('volumes: [{ source: data, target: /a, create_host_path: true }]')].join('\n'), line: 8, col: 65, says: /for bind mounts only/, hint: /type: bind/ },
  { name: 'an undefined secret', yaml: ['secrets: { a: { content: x } }', app('secrets: [b]')].join('\n'), line: 8, col: 19, says: /secret b is not defined/, hint: /one of: a/ },
  { name: 'a secret with two sources', yaml: ['secrets: { a: { content: x, file: ./y } }', app('')].join('\n'), line: 1, col: 15, says: /./, hint: /./ },
  { name: 'a secret from an unset variable', yaml: ['secrets:', '  a: { environment: NOT_SET_ANYWHERE }', app('secrets: [a]')].join('\n'), line: 2, col: 21, says: /NOT_SET_ANYWHERE of secret a is not set/, hint: /set NOT_SET_ANYWHERE/ },
  { name: 'a missing secret file', yaml: ['secrets:', '  a: { file: ./nope.txt }', app('secrets: [a]')].join('\n'), line: 2, col: 14, says: /cannot read \/projects\/demo\/nope.txt: ENOENT/, hint: /create the file/ },
  { name: 'a net sysctl with the host network', yaml: app('network: host', 'sysctls: { net.ipv4.ip_forward: 1 }'), line: 8, col: 20, says: /would change the host's network/, hint: /network namespace of its own/ },
  { name: 'a bad profile name', yaml: app('profiles: ["-x"]'), line: 7, col: 20, says: /is not a valid/, hint: /./ },
];

for (const example of cases) {
  errors(example.name, async () => {
    const error = await loadError(`${example.yaml}\n`, example.env);
    assert.is(error.where.file, FILE, 'names the file');
    assert.equal([error.where.line, error.where.col], [example.line, example.col], `line and column of: ${error.toString()}`);
    assert.match(error.message, example.says, `says what is wrong: ${error.toString()}`);
    assert.match(error.hint, example.hint, 'says how to fix it');
  });
}

model.run();
errors.run();
