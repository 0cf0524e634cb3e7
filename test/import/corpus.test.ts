import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { loadProject } from '../../src/load/load.js';
import type { Container, Pod, Project } from '../../src/project/model.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// The corpus: compose files and Kubernetes manifests in the shapes public projects use, each loaded
// from disk to the model Corral would run, and the keys it cannot carry over named with their line.

const corpus = suite('compose and Kubernetes corpus');
const fixture = (name: string) => path.join(repositoryRoot, 'test/fixtures/import', name);

async function loadFixture(name: string, profiles?: string[]) {
  const warnings: string[] = [];
  const project = await loadProject({ file: fixture(name), onWarning: (warning) => warnings.push(warning), lookupEnv: () => undefined, ...(profiles ? { profiles } : {}) });
  return { project, warnings: warnings.map((warning) => warning.replace(`${fixture(name)}:`, '')) };
}

/** What matters of a container, in a few words. */
function describeContainer(container: Container) {
  return {
    image: container.image?.ref,
    ...(container.image?.entrypoint ? { entrypoint: container.image.entrypoint } : {}),
    ...(container.image?.command ? { command: container.image.command } : {}),
    env: container.env,
    mounts: container.mounts.map((mount) => `${mount.type}:${mount.volume ?? mount.source}->${mount.target}${mount.readOnly ? ':ro' : ''}`),
    restart: container.lifecycle.restart.name,
    dependsOn: container.lifecycle.dependsOn.map((dependency) => `${dependency.resource}:${dependency.condition}`),
    ...(container.lifecycle.healthcheck ? { probe: container.lifecycle.healthcheck.probe } : {}),
    ...(Object.keys(container.resources).length ? { resources: container.resources } : {}),
    ...(container.files.length ? { files: container.files.map((file) => `${file.name}->${file.target}`) } : {}),
    ...(container.init ? { init: true } : {}),
  };
}

function describe(project: Project) {
  return {
    volumes: project.volumes.map((volume) => volume.name),
    pods: Object.fromEntries(project.pods.map((pod: Pod) => [pod.name, {
      share: pod.share.join(','),
      ports: pod.network.ports.map((port) => `${port.hostIp}:${port.hostPort}:${port.containerPort}/${port.protocol}`),
      labels: pod.labels,
      containers: Object.fromEntries(pod.containers.map((container) => [container.name, describeContainer(container)])),
    }])),
  };
}

corpus('front and back networks (compose): networks, per-service lists and mappings, aliases, a fixed address', async () => {
  const { project, warnings } = await loadFixture('front-back-networks.compose.yml');
  assert.equal(project.networks, [
    { name: 'backnet', subnet: '172.28.5.0/24', internal: true },
    { name: 'default', internal: false },
    { name: 'frontnet', internal: false },
    { name: 'shared', internal: false, external: { name: 'shared', where: { file: fixture('front-back-networks.compose.yml'), line: 28, col: 3, path: 'networks.shared' } } },
  ], 'the networks, default among them; shared is the host\'s, named where the file declares it');
  assert.equal(Object.fromEntries(project.pods.map((pod) => [pod.name, pod.network.networks])), {
    backend: [{ name: 'frontnet', aliases: [] }, { name: 'backnet', aliases: [] }],
    db: [{ name: 'backnet', aliases: ['mysql', 'database'], ipv4Address: '172.28.5.10' }],
    proxy: [{ name: 'frontnet', aliases: [] }],
  }, 'each service on its networks, in the order written');
  assert.equal(warnings, [], 'external and priority are carried over, so nothing is warned about');
});

corpus('wordpress + mysql (compose): two pods, named volumes, published port, depends_on', async () => {
  const { project, warnings } = await loadFixture('wordpress-mysql.compose.yml');
  assert.equal(describe(project), {
    volumes: ['db_data', 'wp_data'],
    pods: {
      db: { share: 'net,ipc,uts', ports: [], labels: {}, containers: { db: {
        image: 'mariadb:10.6.4-focal', command: ['--default-authentication-plugin=mysql_native_password'],
        env: { MYSQL_ROOT_PASSWORD: 'somewordpress', MYSQL_DATABASE: 'wordpress', MYSQL_USER: 'wordpress', MYSQL_PASSWORD: 'wordpress' },
        mounts: ['named:db_data->/var/lib/mysql'], restart: 'always', dependsOn: [],
      } } },
      wordpress: { share: 'net,ipc,uts', ports: [':80:80/tcp'], labels: {}, containers: { wordpress: {
        image: 'wordpress:latest',
        env: { WORDPRESS_DB_HOST: 'db', WORDPRESS_DB_USER: 'wordpress', WORDPRESS_DB_PASSWORD: 'wordpress', WORDPRESS_DB_NAME: 'wordpress' },
        mounts: ['named:wp_data->/var/www/html'], restart: 'always', dependsOn: ['db/db:started'],
      } } },
    },
  }, 'the model');
  assert.equal(warnings, ['14:5: services.db.expose: every port is reachable inside the project network anyway; ignored'], 'expose is named, not dropped silently');
});

corpus('node + redis (compose): build, healthcheck condition, long port and volume forms, limits, watch, a service in another\'s network, profiles', async () => {
  const { project, warnings } = await loadFixture('node-redis.compose.yml');
  assert.is(project.name, 'counter', 'name: from the file');
  assert.equal(project.pods.map((pod) => pod.containers.map((container) => `${pod.name}/${container.name}`)).flat(), ['redis/redis', 'web/web'], 'metrics only with its profile');
  const described = describe(project);
  assert.equal(described.pods.redis!.containers.redis, {
    image: 'redis:7-alpine', env: {}, mounts: ['named:redis-data->/data'], restart: 'no', dependsOn: [], probe: { kind: 'exec', argv: ['redis-cli', 'ping'] },
  }, 'redis');
  const web = project.pods.find((pod) => pod.name === 'web')!.containers[0]!;
  assert.equal(described.pods.web!.containers.web, {
    image: 'corral-build/counter/web/web', command: ['node', 'server.js'], env: { REDIS_URL: 'redis://redis:6379', PORT: '3000' },
    mounts: ['tmpfs:->/tmp'], restart: 'no', dependsOn: ['redis/redis:healthy'], resources: { cpus: 0.5, memoryBytes: 256 * 1024 ** 2 },
  }, 'web');
  assert.equal(described.pods.web!.ports, ['127.0.0.1:3000:3000/tcp'], 'the long port form');
  assert.equal(web.image?.build, { context: fixture('.').replace(/\/\.$/, ''), dockerfile: 'Dockerfile' }, 'build context and Dockerfile');
  assert.equal(web.watch?.map((rule) => rule.action), ['sync', 'sync+restart'], 'develop.watch');
  assert.equal(warnings, [], 'every key carried');
  const monitoring = await loadFixture('node-redis.compose.yml', ['monitoring']);
  const webPod = monitoring.project.pods.find((pod) => pod.name === 'web')!;
  assert.equal(webPod.containers.map((container) => container.name), ['metrics', 'web'], 'network_mode: service:web puts metrics into web\'s pod');
});

corpus('a Deployment with probes (Kubernetes): replicas become pods, liveness probe, limits and requests, capabilities', async () => {
  const { project, warnings } = await loadFixture('deployment-probes.kube.yaml');
  const described = describe(project);
  assert.equal(Object.keys(described.pods), ['nginx-1', 'nginx-2'], 'two replicas, two pods');
  assert.equal(described.pods['nginx-1']!.containers.nginx, {
    image: 'nginx:1.27', env: {}, mounts: [], restart: 'always', dependsOn: [],
    probe: { kind: 'http', host: '127.0.0.1', port: 80, path: '/healthz' },
    resources: { cpus: 0.5, memoryBytes: 128 * 1024 ** 2, memoryReservationBytes: 64 * 1024 ** 2 },
  }, 'the container');
  const container = project.pods[0]!.containers[0]!;
  assert.equal([container.security.capDrop, container.security.capAdd], [['ALL'], ['CAP_NET_BIND_SERVICE']], 'capabilities');
  assert.is(container.lifecycle.stopGraceMs, 30_000, 'terminationGracePeriodSeconds');
  assert.is(container.lifecycle.healthcheck?.startPeriodMs, 3000, 'initialDelaySeconds');
  assert.equal(warnings.map((warning) => warning.split(': ')[1]), [
    'document 1, spec.template.spec.containers[0].resources.requests.cpu', 'document 1, spec.template.spec.containers[0].readinessProbe', 'document 2, kind',
  ], 'what is not carried over');
});

corpus('a multi-container Pod (Kubernetes): init container, shared emptyDir, ConfigMap and Secret, shared process namespace', async () => {
  const { project, warnings } = await loadFixture('multi-container.kube.yaml');
  const described = describe(project);
  assert.equal(described.volumes, ['web-shared'], 'the emptyDir');
  const pod = described.pods.web!;
  assert.is(pod.share, 'net,ipc,uts,pid', 'shareProcessNamespace');
  assert.equal(pod.labels, { app: 'web', tier: 'frontend' }, 'labels');
  assert.equal(pod.containers.app, {
    image: 'nginx:1.27', env: { 'nginx.conf': 'server { listen 8080; }\n', MODE: 'production', TOKEN: 's3cret' },
    mounts: ['named:web-shared->/usr/share/nginx/html:ro', 'tmpfs:->/var/cache/nginx'], restart: 'on-failure', dependsOn: ['web/setup:completed'],
    files: ['web-config-nginx-conf->/etc/nginx/conf.d/default.conf'],
  }, 'app: envFrom, secretKeyRef, volumes, a ConfigMap file');
  assert.equal(pod.containers.setup, { image: 'busybox:1.36', entrypoint: ['sh', '-c', 'echo ready > /work/state'], env: {}, mounts: ['named:web-shared->/work'], restart: 'no', dependsOn: [], init: true }, 'the init container');
  assert.equal(pod.containers.sidecar!.command, ['sh', '-c', 'while true; do date > /work/index.html; sleep 5; done'], 'args are the command');
  assert.equal(pod.ports, [':8080:8080/tcp'], 'hostPort published');
  assert.equal(warnings, [], 'everything carried over');
});

corpus('errors in a translated file point at the user\'s own line and column', async () => {
  const readFile = async () => ['services:', '  web:', '    image: nginx', '    ports: ["99999:80"]', ''].join('\n');
  try {
    await loadProject({ file: '/p/compose.yml', readFile, lookupEnv: () => undefined, onWarning: () => {} });
    assert.unreachable('refused');
  } catch (error) {
    assert.match(String(error), /compose\.yml:4:13: host port 99999 is out of range/, String(error));
  }
  const kube = async () => ['apiVersion: v1', 'kind: Pod', 'metadata: { name: web }', 'spec:', '  containers:', '    - name: app', '      image: x', '      resources: { limits: { memory: lots } }', ''].join('\n');
  try {
    await loadProject({ file: '/p/pod.yaml', readFile: kube, lookupEnv: () => undefined, onWarning: () => {} });
    assert.unreachable('refused');
  } catch (error) {
    assert.match(String(error), /pod\.yaml:8:38: "lots" is not a valid memory/, String(error));
  }
});

corpus('compose secrets without content (external, or nothing at all) are refused at their line: the service would run without them', async () => {
  const lines = ['services:', '  app:', '    image: x', '    secrets: [db, { source: local, target: l }]', 'secrets:', '  db: { external: true }', '  local: { content: "here" }', ''];
  const refusal = async (text: string): Promise<string> => {
    try {
      await loadProject({ file: '/p/compose.yml', readFile: async () => text, lookupEnv: () => undefined, onWarning: () => {} });
    } catch (error) {
      return String(error);
    }
    throw new Error('should have been refused');
  };
  assert.match(await refusal(lines.join('\n')), /^\/p\/compose\.yml:6:9: external secrets live in a swarm/, 'external: true at its line');
  assert.match(await refusal(lines.join('\n').replace('{ external: true }', '{ labels: { a: b } }')), /^\/p\/compose\.yml:6:3: secrets\.db has no file, environment or content/, 'no content at all');
  const project = await loadProject({ file: '/p/compose.yml', readFile: async () => lines.join('\n').replace('{ external: true }', '{ environment: DB }'), lookupEnv: (name) => (name === 'DB' ? 'pw' : undefined), onWarning: () => {} });
  assert.equal(project.pods[0]!.containers[0]!.files.map((file) => `${file.name}->${file.target}`), ['db->/run/secrets/db', 'local->/run/secrets/l'], 'both once they have content');
});

corpus('compose keys translated one by one', async () => {
  const text = [
    'services:',
    '  app:',
    '    image: app',
    '    network_mode: host',
    '    ipc: host',
    '    pid: service:db',
    '    security_opt: [no-new-privileges:true, seccomp:unconfined, "label:disable"]',
    '    tmpfs: [/run, "/tmp:size=8m"]',
    '    mem_limit: 128m',
    '    cpus: 0.25',
    '    pids_limit: 50',
    '    env_file: [{ path: ./app.env }]',
    '    volumes:',
    '      - /anon',
    '      - { type: bind, source: ./conf, target: /conf, bind: { create_host_path: false } }',
    '      - { type: volume, source: data, target: /data, volume: { subpath: app } }',
    '    extra_hosts: ["legacy:10.0.0.9"]',
    '    pull_policy: if_not_present',
    '  db:',
    '    image: db',
    '    ipc: private',
    '    stop_grace_period: 1m',
    '    ports: ["127.0.0.1:8000-8002:9000-9002/udp"]',
    'volumes: { data: {} }',
    '',
  ].join('\n');
  const warnings: string[] = [];
  const project = await loadProject({ file: '/p/compose.yml', readFile: async (file) => (file.endsWith('app.env') ? 'A=1\n' : text), lookupEnv: () => undefined, onWarning: (warning) => warnings.push(warning) });
  const app = project.pods.find((pod) => pod.name === 'app')!;
  const [container] = app.containers;
  assert.is(app.network.mode, 'host', 'network_mode: host');
  assert.equal(container!.namespaces, { network: { kind: 'host' }, ipc: { kind: 'host' }, pid: { kind: 'container', pod: 'db', container: 'db' } }, 'ipc host, pid of another service');
  assert.is(container!.security.noNewPrivileges, true, 'no-new-privileges');
  assert.is(container!.security.seccomp, 'unconfined', 'seccomp:unconfined');
  assert.equal(container!.resources, { cpus: 0.25, memoryBytes: 128 * 1024 ** 2, pidsLimit: 50 }, 'limits');
  assert.equal(container!.env, { A: '1' }, 'env_file long form');
  assert.equal(container!.mounts.map((mount) => `${mount.type}:${mount.volume ?? mount.source}->${mount.target}${mount.subpath ? `#${mount.subpath}` : ''}${mount.createHostPath === false ? ':must-exist' : ''}`), [
    'named:app-anon->/anon', 'bind:/p/conf->/conf:must-exist', 'named:data->/data#app', 'tmpfs:->/run', 'tmpfs:->/tmp',
  ], 'anonymous, long bind and volume forms, tmpfs');
  assert.is(container!.mounts[4]!.size, 8 * 1024 ** 2, 'tmpfs size');
  assert.equal(app.network.extraHosts, [{ host: 'legacy', ip: '10.0.0.9' }], 'extra_hosts');
  assert.is(container!.image?.pullPolicy, 'missing', 'if_not_present');
  const dbPorts = project.pods.find((pod) => pod.name === 'db')!.network.ports;
  assert.equal(dbPorts.map((port) => `${port.hostIp}:${port.hostPort}:${port.containerPort}/${port.protocol}`), ['127.0.0.1:8000:9000/udp', '127.0.0.1:8001:9001/udp', '127.0.0.1:8002:9002/udp'], 'a port range, one mapping per port');
  const db = project.pods.find((pod) => pod.name === 'db')!.containers[0]!;
  assert.equal(db.namespaces.ipc, { kind: 'none' }, 'ipc: private');
  assert.is(db.lifecycle.stopGraceMs, 60_000, 'stop_grace_period');
  assert.equal(warnings, [], 'label:disable is what Corral does anyway (no SELinux labels), so nothing is left');
  const labelled = text.replace('"label:disable"', '"label:type:svirt_apache_t"');
  const refused = await loadProject({ file: '/p/compose.yml', readFile: async (file) => (file.endsWith('app.env') ? 'A=1\n' : labelled), lookupEnv: () => undefined, onWarning: () => {} }).then(() => undefined, (error: unknown) => error);
  assert.ok(refused instanceof ProjectError, 'an SELinux label type is refused, not warned');
  assert.is(`${refused.where.line}:${refused.where.col}: ${refused.message}`, '7:64: security_opt label:type:svirt_apache_t is not supported: Corral sets no SELinux labels, so the container would be confined otherwise than asked', 'at its item, with why');
});

corpus.run();
