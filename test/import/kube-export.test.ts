import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { validate as validatePod } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Pod';
import { validate as validateDeployment } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as validateService } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as validateClaim } from 'kubernetes-models/_schemas/IoK8sApiCoreV1PersistentVolumeClaim';
import { validate as validateConfigMap } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as validateSecret } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret';
import { generateKubeManifests } from '../../src/import/kube-export.js';
import { loadProject } from '../../src/load/load.js';
import type { Project } from '../../src/project/model.js';
import path from 'node:path';
import { repositoryRoot } from '../helpers/sandbox.js';

// `corral generate kube`: manifests that the Kubernetes JSON Schemas (from kubernetes-models, the
// OpenAPI of the API server) accept, and that import back to the same model.

const exporting = suite('export to Kubernetes');

const VALIDATORS: Record<string, ((data: unknown) => boolean) & { errors?: unknown }> = {
  Pod: validatePod, Deployment: validateDeployment, Service: validateService, PersistentVolumeClaim: validateClaim, ConfigMap: validateConfigMap, Secret: validateSecret,
};

const PROJECT = `
name: shop
secrets:
  apikey: { content: "k3y" }
configs:
  site: { content: "listen 80" }
volumes:
  data: {}
pods:
  web:
    share: [net, ipc, uts, pid]
    hostname: www
    labels: { app: shop, tier: web }
    dns: [10.0.0.53]
    dns_search: [corp.example]
    extra_hosts: ["db.legacy:10.1.2.3"]
    restart: always
    init_containers:
      migrate: { rootfs: /rootfs/busybox, command: [sh, -c, "echo migrated"], stop_grace_period: 20s, sysctls: { net.ipv4.ip_unprivileged_port_start: 80 } }
    containers:
      app:
        image: registry.example/shop/app:v3
        entrypoint: [/app/server]
        command: [--port, "8080"]
        working_dir: /app
        user: "1000:1000"
        env: { MODE: production, EMPTY: "" }
        ports: ["8080:8080", "127.0.0.1:9090:9090/udp"]
        resources: { cpus: 0.5, memory: 256m, memory_reservation: 128m }
        cap_drop: [ALL]
        cap_add: [NET_BIND_SERVICE]
        read_only: true
        sysctls: { net.ipv4.ip_unprivileged_port_start: 80 }
        healthcheck: { http: { port: 8080, path: /healthz }, interval: 5s, timeout: 2s, retries: 4, start_period: 10s }
        stop_grace_period: 20s
        secrets: [apikey]
        configs: [{ source: site, target: /etc/site.conf }]
        volumes:
          - { source: data, target: /data, subpath: web }
          - { type: bind, source: /srv/conf, target: /etc/app, read_only: true, create_host_path: true }
          - { type: tmpfs, target: /tmp, tmpfs: { size: 16m } }
      sidecar:
        rootfs: /rootfs/busybox
        command: [sh, -c, "sleep 3600"]
        stop_grace_period: 20s
        sysctls: { net.ipv4.ip_unprivileged_port_start: 80 }
        healthcheck: { test: [CMD, "true"], interval: 30s, timeout: 30s }
  job:
    containers:
      once:
        image: registry.example/shop/job:v1
        pull_policy: always
        restart: on-failure
        volumes: [data:/data:ro]
`;

async function loadText(text: string, file: string): Promise<Project> {
  return loadProject({ file, readFile: async () => text, lookupEnv: () => undefined, onWarning: () => {} });
}

exporting('every manifest passes the Kubernetes schema of its kind', async () => {
  const warnings: string[] = [];
  const documents = generateKubeManifests(await loadText(PROJECT, '/shop/corral.yaml'), (warning) => warnings.push(warning));
  assert.equal(documents.map((document) => `${String(document.kind)}/${String((document.metadata as { name: string }).name)}`), [
    'PersistentVolumeClaim/data', 'ConfigMap/site', 'Secret/apikey', 'Pod/job', 'Deployment/web', 'Service/web',
  ], 'claims and data first, then the workloads with their Service');
  for (const document of documents) {
    const validate = VALIDATORS[String(document.kind)]!;
    assert.ok(validate(document), `${String(document.kind)} is valid: ${JSON.stringify(validate.errors)}`);
  }
  assert.equal(warnings.filter((warning) => warning.includes('runs the directory')).length, 2, 'rootfs containers are named as needing an image');
});

exporting('host volumes: a name: volume\'s claim is named after it, an external one is claimed but not written', async () => {
  const warnings: string[] = [];
  const project = await loadText(`
volumes:
  cache: { name: shared-cache }
  given: { external: true, name: made-before }
pods:
  web:
    containers: { app: { image: registry.example/web:1, volumes: [cache:/cache, given:/given] } }
`, '/shop/corral.yaml');
  const documents = generateKubeManifests(project, (warning) => warnings.push(warning));
  assert.equal(documents.filter((document) => document.kind === 'PersistentVolumeClaim').map((document) => (document.metadata as { name: string }).name), ['shared-cache'], 'one claim, under the host volume\'s name');
  const pod = JSON.stringify(documents.find((document) => document.kind !== 'PersistentVolumeClaim'));
  assert.match(pod, '"claimName":"made-before"', 'the external volume is mounted from its claim');
  assert.equal(warnings.filter((warning) => warning.includes('external')), ['web-app: volume given is external: no PersistentVolumeClaim is written; claim made-before must exist in the cluster']);
});

exporting('networks are named as left out, and a pod on default alone is not', async () => {
  const warnings: string[] = [];
  const project = await loadText(`
networks: { back: {} }
pods:
  db:
    networks: { back: { aliases: [database] } }
    containers: { app: { image: registry.example/db:1 } }
  web:
    containers: { app: { image: registry.example/web:1 } }
`, '/shop/corral.yaml');
  generateKubeManifests(project, (warning) => warnings.push(warning));
  assert.equal(warnings.filter((warning) => warning.includes('networks')), ['db: networks (back) and their aliases and addresses have no equivalent in a cluster, where every Pod reaches every Service; left out (a NetworkPolicy can isolate)'], 'db\'s networks, not web\'s');
});

exporting('the service name of replicas is no network alias to warn about; an alias of their own is', async () => {
  const warnings: string[] = [];
  const project = await loadText(`
services:
  web:
    image: registry.example/web:1
    scale: 2
  api:
    image: registry.example/api:1
    deploy: { replicas: 2 }
    networks: { default: { aliases: [backend] } }
`, '/shop/compose.yaml');
  assert.equal(project.pods.map((pod) => `${pod.name}:${pod.network.networks.flatMap((membership) => membership.aliases).join(',')}`), ['api-1:backend,api', 'api-2:backend,api', 'web-1:web', 'web-2:web'], 'each replica carries its service name');
  generateKubeManifests(project, (warning) => warnings.push(warning));
  assert.equal(warnings.filter((warning) => warning.includes('networks')).map((warning) => warning.split(':')[0]), ['api-1', 'api-2'], 'api\'s replicas for backend, web\'s not at all');
});

/** A compose service web with these extra_hosts, loaded. */
const webWithExtraHosts = (entries: readonly string[]) => loadText(`services: { web: { image: registry.example/web:1, extra_hosts: ${JSON.stringify(entries)} } }`, '/shop/compose.yaml');

exporting('extra_hosts host-gateway is left out of hostAliases with the reason; an address is kept', async () => {
  const warnings: string[] = [];
  const project = await webWithExtraHosts(['host.docker.internal:host-gateway', 'db.legacy:10.1.2.3']);
  const documents = generateKubeManifests(project, (warning) => warnings.push(warning));
  const pod = documents.find((document) => document.kind === 'Pod' || document.kind === 'Deployment')!;
  const spec = (pod.kind === 'Pod' ? pod.spec : (pod.spec as { template: { spec: unknown } }).template.spec) as { hostAliases?: unknown };
  assert.equal(spec.hostAliases, [{ ip: '10.1.2.3', hostnames: ['db.legacy'] }], 'only the entry with an address');
  assert.ok(VALIDATORS[String(pod.kind)]!(pod), `the ${String(pod.kind)} passes the schema`);
  assert.equal(warnings.filter((warning) => warning.includes('host-gateway')), [
    'web: extra_hosts host.docker.internal: host-gateway has no IP in a cluster (a hostAlias needs one, and the node a Pod runs on is known only once it is scheduled), left out; give the container the node\'s address from the downward API (env valueFrom.fieldRef.fieldPath: status.hostIP), or write the address of the machine meant',
  ], 'named, with the reason and a way');
  const kept = generateKubeManifests(await webWithExtraHosts(['db.legacy:10.1.2.3']), (warning) => warnings.push(warning));
  assert.ok(kept.length > 0 && warnings.filter((warning) => warning.includes('host-gateway')).length === 1, 'no warning without host-gateway');
});

exporting('a broken manifest fails the schema (the check can fail)', () => {
  assert.not.ok(validatePod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', ports: [{ containerPort: 'eighty' }] }] } }), 'a string port is refused');
  assert.not.ok(validateDeployment({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: {} } }), 'a Deployment without selector is refused');
});

exporting('export then import gives the same model for what both have', async () => {
  const original = await loadText(PROJECT, '/shop/corral.yaml');
  const yaml = generateKubeManifests(original, () => {}).map((document) => stringify(document, { aliasDuplicateObjects: false })).join('---\n');
  const back = await loadText(yaml, '/shop/shop.kube.yaml');
  // What a Pod has once (sysctls, the grace period) is set alike on every container of the file above.
  assert.equal({ pods: back.pods, volumes: back.volumes }, { pods: original.pods, volumes: original.volumes }, 'pods, containers and volumes');
});

const CORPUS = ['wordpress-mysql.compose.yml', 'node-redis.compose.yml', 'deployment-probes.kube.yaml', 'multi-container.kube.yaml'];

/** What a cluster has no place for: start order, watch rules, local builds; and names without underscores. */
function withoutClusterless(project: Project): unknown {
  const pods = project.pods.map((pod) => ({
    ...pod,
    containers: pod.containers.map(({ watch: _watch, ...container }) => ({
      ...container,
      lifecycle: { ...container.lifecycle, dependsOn: [] },
      ...(container.image ? { image: { ...container.image, build: undefined } } : {}),
    })),
  }));
  return JSON.parse(JSON.stringify({ pods, volumes: project.volumes }).replace(/"(volume|name)":"([a-z0-9-]*)_([a-z0-9_-]*)"/g, (_match, key: string, head: string, tail: string) => `"${key}":"${head}-${tail.replace(/_/g, '-')}"`)) as unknown;
}

for (const name of CORPUS) {
  exporting(`corpus round trip: ${name}`, async () => {
    const file = path.join(repositoryRoot, 'test/fixtures/import', name);
    const original = await loadProject({ file, lookupEnv: () => undefined, onWarning: () => {} });
    const documents = generateKubeManifests(original, () => {});
    for (const document of documents) assert.ok(VALIDATORS[String(document.kind)]!(document), `${String(document.kind)} is valid`);
    const back = await loadText(documents.map((document) => stringify(document, { aliasDuplicateObjects: false })).join('---\n'), `${file}.kube.yaml`);
    assert.equal(withoutClusterless(back), withoutClusterless(original), 'the same model but for what a cluster has no place for');
  });
}

exporting.run();
