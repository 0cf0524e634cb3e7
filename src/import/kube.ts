import type { ParsedFile, PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import { corralName, type Raw, Translation, type WarningSink } from './translation.js';
import { MOST_REPLICAS, replicaPods } from './replicas.js';

// Kubernetes manifests -> Corral, like `podman kube play`: each Pod becomes a pod, each Deployment
// `replicas` pods from its template; ConfigMaps and Secrets of the same file feed env, envFrom and
// volumes; PersistentVolumeClaims become named volumes; hostPath volumes bind mounts. Anything else
// is reported as a warning at its line.

const POD_SPEC_KEYS = ['containers', 'initContainers', 'volumes', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'hostname', 'dnsConfig',
  'hostAliases', 'restartPolicy', 'terminationGracePeriodSeconds', 'securityContext'];
const CONTAINER_KEYS = ['name', 'image', 'command', 'args', 'workingDir', 'env', 'envFrom', 'ports', 'resources', 'securityContext', 'volumeMounts',
  'livenessProbe', 'readinessProbe', 'startupProbe', 'imagePullPolicy', 'tty', 'stdin'];
const RESTART: Record<string, string> = { Always: 'always', OnFailure: 'on-failure', Never: 'no' };
const PULL: Record<string, string> = { Always: 'always', IfNotPresent: 'missing', Never: 'never' };
const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** "500m" -> 0.5 CPUs. */
export function cpusOf(quantity: unknown): number {
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** "128Mi" -> bytes; what is no quantity stays as written, for the schema to refuse at its line. */
export function memoryOf(quantity: unknown): number | unknown {
  const match = /^([0-9.]+)([kKMGT]i?)?$/.exec(String(quantity));
  return match ? Math.round(Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? 1)) : quantity;
}

const seconds = (value: unknown) => `${Number(value)}s`;

interface Sources {
  /** ConfigMaps and Secrets of the file by name: their string data. */
  readonly configMaps: Map<string, Record<string, string>>;
  readonly secrets: Map<string, Record<string, string>>;
}

class KubeTranslation {
  readonly pods: Record<string, Raw> = {};
  readonly volumes: Record<string, Raw> = {};
  readonly configs: Record<string, Raw> = {};
  readonly secrets: Record<string, Raw> = {};

  constructor(readonly t: Translation, readonly sources: Sources) {}

  pod(name: string, metadata: Raw, spec: Raw, at: PathSegment[], metaAt: PathSegment[], defaults: { restart?: string } = {}): void {
    const { t } = this;
    const podName = corralName(name);
    if (this.pods[podName]) throw errorAt(t.source, metaAt.length > 0 ? [...metaAt, 'name'] : at, `two manifests make the pod ${podName}`, 'give each Pod and Deployment a name of its own');
    t.from(['pods', podName], at);
    t.unsupportedKeys(spec, POD_SPEC_KEYS, at);
    t.unsupportedKeys(metadata, ['name', 'labels'], metaAt);
    const pod: Raw = { containers: {} };
    // corral.dev/* labels are the ones Corral's export adds to tie Deployments and Services to pods.
    const labels = Object.fromEntries(Object.entries(t.mapping(metadata.labels, [...metaAt, 'labels'], '{ app: web }')).filter(([key]) => !key.startsWith('corral.dev/')));
    if (Object.keys(labels).length > 0) pod.labels = labels;
    if (spec.hostNetwork === true) pod.network = 'host';
    if (spec.shareProcessNamespace === true) pod.share = ['net', 'ipc', 'uts', 'pid'];
    if (spec.hostname !== undefined) pod.hostname = spec.hostname;
    const dns = t.mapping(spec.dnsConfig, [...at, 'dnsConfig'], '{ nameservers: [10.0.0.53] }');
    if (dns.nameservers) pod.dns = dns.nameservers;
    if (dns.searches) pod.dns_search = dns.searches;
    t.unsupportedKeys(dns, ['nameservers', 'searches'], [...at, 'dnsConfig']);
    if (spec.hostAliases) {
      pod.extra_hosts = t.mappings(spec.hostAliases, [...at, 'hostAliases'], '{ ip: 10.0.0.5, hostnames: [db] }')
        .flatMap((alias, index) => t.list(alias.hostnames, [...at, 'hostAliases', index, 'hostnames'], '[db]').map((host) => `${String(host)}:${String(alias.ip)}`));
    }
    const restart = spec.restartPolicy === undefined ? defaults.restart ?? 'always' : RESTART[String(spec.restartPolicy)];
    if (restart !== 'no') pod.restart = restart;
    const podSecurity = t.mapping(spec.securityContext, [...at, 'securityContext'], '{ runAsUser: 1000 }');
    t.unsupportedKeys(podSecurity, ['runAsUser', 'runAsGroup', 'sysctls'], [...at, 'securityContext']);
    const volumes = new Map(t.mappings(spec.volumes, [...at, 'volumes'], '{ name: data, emptyDir: {} }').map((volume, index) => [String(volume.name), { volume, at: [...at, 'volumes', index] }]));
    for (const [list, key] of [['initContainers', 'init_containers'], ['containers', 'containers']] as const) {
      const containers = t.mappings(spec[list], [...at, list], '{ name: app, image: nginx }');
      if (containers.length === 0) continue;
      pod[key] = Object.fromEntries(containers.map((container, index) => {
        const containerAt = [...at, list, index];
        if (typeof container.name !== 'string' || container.name === '') throw errorAt(t.source, containerAt, `${list}[${index}] has no name`, 'add name: app (every container of a Pod is named)');
        const containerName = corralName(container.name);
        t.from(['pods', podName, key, containerName], containerAt);
        return [containerName, this.container(container, containerAt, ['pods', podName, key, containerName], { spec, podSecurity, volumes, podName })];
      }));
    }
    this.pods[podName] = pod;
  }

  private container(raw: Raw, at: PathSegment[], to: PathSegment[], pod: { spec: Raw; podSecurity: Raw; volumes: Map<string, { volume: Raw; at: PathSegment[] }>; podName: string }): Raw {
    const { t } = this;
    t.unsupportedKeys(raw, CONTAINER_KEYS, at);
    const container: Raw = {};
    // Corral's own export writes a container that runs a directory as image rootfs:DIR.
    if (typeof raw.image === 'string' && raw.image.startsWith('rootfs:')) container.rootfs = raw.image.slice('rootfs:'.length);
    else if (raw.image !== undefined) container.image = raw.image;
    if (raw.command !== undefined) container.entrypoint = raw.command;
    if (raw.args !== undefined) container.command = raw.args;
    if (raw.workingDir !== undefined) container.working_dir = raw.workingDir;
    if (raw.tty !== undefined) container.tty = raw.tty;
    if (raw.stdin !== undefined) container.stdin_open = raw.stdin;
    if (raw.imagePullPolicy !== undefined) container.pull_policy = PULL[String(raw.imagePullPolicy)];
    if (pod.spec.hostPID === true) container.pid = 'host';
    if (pod.spec.hostIPC === true) container.ipc = 'host';
    if (pod.spec.terminationGracePeriodSeconds !== undefined) container.stop_grace_period = seconds(pod.spec.terminationGracePeriodSeconds);
    const env = this.env(raw, at);
    if (Object.keys(env).length > 0) container.env = env;
    const ports = t.mappings(raw.ports, [...at, 'ports'], '{ containerPort: 80, hostPort: 8080 }').filter((port) => port.hostPort !== undefined).map((port) => {
      const protocol = String(port.protocol ?? 'TCP').toLowerCase();
      return `${port.hostIP ? `${String(port.hostIP)}:` : ''}${String(port.hostPort)}:${String(port.containerPort)}${protocol === 'tcp' ? '' : `/${protocol}`}`;
    });
    if (ports.length > 0) container.ports = ports;
    const resources = t.mapping(raw.resources, [...at, 'resources'], '{ limits: { memory: 128Mi } }');
    const limits = t.mapping(resources.limits, [...at, 'resources', 'limits'], '{ memory: 128Mi, cpu: 500m }');
    const requests = t.mapping(resources.requests, [...at, 'resources', 'requests'], '{ memory: 64Mi }');
    const translated: Raw = {
      ...(limits.cpu !== undefined ? { cpus: cpusOf(limits.cpu) } : {}),
      ...(limits.memory !== undefined ? { memory: memoryOf(limits.memory) } : {}),
      ...(requests.memory !== undefined ? { memory_reservation: memoryOf(requests.memory) } : {}),
    };
    if (Object.keys(translated).length > 0) {
      container.resources = translated;
      t.from([...to, 'resources'], [...at, 'resources']);
      t.from([...to, 'resources', 'cpus'], [...at, 'resources', 'limits', 'cpu']);
      t.from([...to, 'resources', 'memory'], [...at, 'resources', 'limits', 'memory']);
      t.from([...to, 'resources', 'memory_reservation'], [...at, 'resources', 'requests', 'memory']);
    }
    if (requests.cpu !== undefined) t.unsupported([...at, 'resources', 'requests', 'cpu'], 'CPU requests are for a scheduler; only limits are enforced, ignored');
    this.security(container, { ...pod.podSecurity, ...t.mapping(raw.securityContext, [...at, 'securityContext'], '{ privileged: true }') }, [...at, 'securityContext']);
    const probeKey = ['livenessProbe', 'readinessProbe', 'startupProbe'].find((key) => raw[key] !== undefined);
    for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (raw[key] !== undefined && key !== probeKey) t.unsupported([...at, key], `one probe is used as the health check (${probeKey}), ignored`);
    }
    if (probeKey) {
      container.healthcheck = this.probe(t.mapping(raw[probeKey], [...at, probeKey], '{ httpGet: { port: 80 } }'), raw, [...at, probeKey]);
      t.from([...to, 'healthcheck'], [...at, probeKey]);
    }
    this.mounts(container, raw, at, to, pod);
    return container;
  }

  private env(raw: Raw, at: PathSegment[]): Record<string, string> {
    const env: Record<string, string> = {};
    const { t } = this;
    for (const [index, source] of t.mappings(raw.envFrom, [...at, 'envFrom'], '{ configMapRef: { name: settings } }').entries()) {
      const reference = t.mapping(source.configMapRef ?? source.secretRef, [...at, 'envFrom', index, source.configMapRef ? 'configMapRef' : 'secretRef'], '{ name: settings }');
      const data = reference && (source.configMapRef ? this.sources.configMaps : this.sources.secrets).get(String(reference.name));
      if (data) Object.assign(env, Object.fromEntries(Object.entries(data).map(([key, value]) => [`${String(source.prefix ?? '')}${key}`, value])));
      else this.t.unsupported([...at, 'envFrom', index], 'only ConfigMaps and Secrets of the same file can be used, ignored');
    }
    for (const [index, variable] of t.mappings(raw.env, [...at, 'env'], '{ name: MODE, value: prod }').entries()) {
      if (variable.value !== undefined || variable.valueFrom === undefined) {
        env[String(variable.name)] = String(variable.value ?? '');
        continue;
      }
      const from = t.mapping(variable.valueFrom, [...at, 'env', index, 'valueFrom'], '{ configMapKeyRef: { name: settings, key: mode } }');
      const reference = t.mapping(from.configMapKeyRef ?? from.secretKeyRef, [...at, 'env', index, 'valueFrom'], '{ configMapKeyRef: { name: settings, key: mode } }');
      const value = reference && (from.configMapKeyRef ? this.sources.configMaps : this.sources.secrets).get(String(reference.name))?.[String(reference.key)];
      if (value !== undefined) env[String(variable.name)] = value;
      else this.t.unsupported([...at, 'env', index, 'valueFrom'], 'only keys of ConfigMaps and Secrets of the same file can be used, ignored');
    }
    return env;
  }

  private security(container: Raw, security: Raw, at: PathSegment[]): void {
    if (security.runAsUser !== undefined) container.user = `${String(security.runAsUser)}${security.runAsGroup !== undefined ? `:${String(security.runAsGroup)}` : ''}`;
    if (security.privileged === true) container.privileged = true;
    if (security.readOnlyRootFilesystem === true) container.read_only = true;
    if (security.allowPrivilegeEscalation !== undefined) container.no_new_privileges = security.allowPrivilegeEscalation === false;
    const seccomp = this.t.mapping(security.seccompProfile, [...at, 'seccompProfile'], '{ type: RuntimeDefault }');
    if (seccomp.type === 'Unconfined') container.seccomp = 'unconfined';
    else if (seccomp.type === 'RuntimeDefault') container.seccomp = 'default';
    else if (seccomp.type === 'Localhost' && typeof seccomp.localhostProfile === 'string') container.seccomp = seccomp.localhostProfile;
    const capabilities = this.t.mapping(security.capabilities, [...at, 'capabilities'], '{ add: [NET_ADMIN] }');
    if (capabilities.add) container.cap_add = capabilities.add;
    if (capabilities.drop) container.cap_drop = capabilities.drop;
    if (security.sysctls) container.sysctls = Object.fromEntries(this.t.mappings(security.sysctls, [...at, 'sysctls'], '{ name: net.core.somaxconn, value: "1024" }').map((sysctl) => [String(sysctl.name), String(sysctl.value)]));
    const known = ['runAsUser', 'runAsGroup', 'privileged', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'sysctls'];
    for (const key of Object.keys(security)) if (!known.includes(key)) this.t.unsupported([...at, key]);
  }

  private probe(probe: Raw, container: Raw, at: PathSegment[]): Raw {
    const portOf = (port: unknown) => (typeof port === 'number' ? port : Number(this.t.mappings(container.ports, [...at.slice(0, -1), 'ports'], '{ containerPort: 80 }').find((candidate) => candidate.name === port)?.containerPort ?? port));
    const exec = probe.exec === undefined ? undefined : this.t.mapping(probe.exec, [...at, 'exec'], '{ command: [cat, /tmp/healthy] }');
    const http = probe.httpGet === undefined ? undefined : this.t.mapping(probe.httpGet, [...at, 'httpGet'], '{ port: 80, path: / }');
    const tcp = probe.tcpSocket === undefined ? undefined : this.t.mapping(probe.tcpSocket, [...at, 'tcpSocket'], '{ port: 80 }');
    this.t.unsupportedKeys(probe, ['exec', 'httpGet', 'tcpSocket', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'initialDelaySeconds', 'successThreshold'], at);
    return {
      ...(exec ? { test: ['CMD', ...this.t.list(exec.command, [...at, 'exec', 'command'], '[cat, /tmp/healthy]')] } : {}),
      ...(http ? { http: { port: portOf(http.port), path: http.path ?? '/' } } : {}),
      ...(tcp ? { tcp: { port: portOf(tcp.port) } } : {}),
      interval: seconds(probe.periodSeconds ?? 10),
      timeout: seconds(probe.timeoutSeconds ?? 1),
      retries: probe.failureThreshold ?? 3,
      ...(probe.initialDelaySeconds !== undefined ? { start_period: seconds(probe.initialDelaySeconds) } : {}),
    };
  }

  private mounts(container: Raw, raw: Raw, at: PathSegment[], to: PathSegment[], pod: { volumes: Map<string, { volume: Raw; at: PathSegment[] }>; podName: string }): void {
    const mounts: Raw[] = [];
    const provided: Record<'configs' | 'secrets', Raw[]> = { configs: [], secrets: [] };
    for (const [index, mount] of this.t.mappings(raw.volumeMounts, [...at, 'volumeMounts'], '{ name: data, mountPath: /data }').entries()) {
      const mountAt = [...at, 'volumeMounts', index];
      const found = pod.volumes.get(String(mount.name));
      if (!found) {
        this.t.unsupported(mountAt, `volume ${String(mount.name)} is not in the pod's volumes, ignored`);
        continue;
      }
      const { volume, at: volumeAt } = found;
      const base = { target: mount.mountPath, ...(mount.readOnly === true ? { read_only: true } : {}), ...(mount.subPath !== undefined ? { subpath: mount.subPath } : {}) };
      this.t.from([...to, 'volumes', mounts.length], mountAt);
      const part = (key: string, example: string) => (volume[key] === undefined ? undefined : this.t.mapping(volume[key], [...volumeAt, key], example));
      const emptyDir = part('emptyDir', '{}');
      const hostPath = part('hostPath', '{ path: /srv/data }');
      const claim = part('persistentVolumeClaim', '{ claimName: data }');
      const files = part('configMap', '{ name: settings }') ?? part('secret', '{ secretName: credentials }');
      if (emptyDir?.medium === 'Memory') {
        mounts.push({ type: 'tmpfs', target: mount.mountPath, ...(emptyDir.sizeLimit ? { tmpfs: { size: memoryOf(emptyDir.sizeLimit) } } : {}) });
      } else if (emptyDir) {
        const name = corralName(`${pod.podName}-${String(volume.name)}`);
        this.volumes[name] = {};
        mounts.push({ source: name, ...base });
      } else if (hostPath) {
        mounts.push({ type: 'bind', source: hostPath.path, ...base, create_host_path: hostPath.type === 'DirectoryOrCreate' });
      } else if (claim) {
        const name = corralName(String(claim.claimName));
        this.volumes[name] ??= {};
        this.t.from(['volumes', name], [...volumeAt, 'persistentVolumeClaim', 'claimName']);
        mounts.push({ source: name, ...base });
      } else if (files) {
        const kind = volume.configMap ? 'configs' : 'secrets';
        const sourceName = String(files.name ?? files.secretName);
        const data = (kind === 'configs' ? this.sources.configMaps : this.sources.secrets).get(sourceName);
        if (!data) {
          this.t.unsupported(volumeAt, `${kind === 'configs' ? 'ConfigMap' : 'Secret'} ${sourceName} is not in this file, ignored`);
          continue;
        }
        const allItems = files.items !== undefined ? this.t.mappings(files.items, [...volumeAt, volume.configMap ? 'configMap' : 'secret', 'items'], '{ key: app.conf, path: app.conf }') : Object.keys(data).map((key): Raw => ({ key, path: key }));
        // With subPath, only the item at that path, mounted at mountPath itself.
        const items = mount.subPath === undefined ? allItems : allItems.filter((item) => item.path === mount.subPath);
        for (const item of items) {
          const key = String(item.key);
          const name = corralName(key === sourceName ? sourceName : `${sourceName}-${key}`);
          (kind === 'configs' ? this.configs : this.secrets)[name] = { content: data[key] ?? '' };
          const target = mount.subPath === undefined ? `${String(mount.mountPath).replace(/\/$/, '')}/${String(item.path)}` : String(mount.mountPath);
          const mode = item.mode ?? files.defaultMode;
          provided[kind].push({ source: name, target, ...(mode !== undefined ? { mode: Number(mode) } : {}) });
        }
      } else {
        this.t.unsupported(volumeAt, 'only emptyDir, hostPath, persistentVolumeClaim, configMap and secret volumes are supported, ignored');
      }
    }
    if (mounts.length > 0) container.volumes = mounts;
    if (provided.configs.length > 0) container.configs = provided.configs;
    if (provided.secrets.length > 0) container.secrets = provided.secrets;
  }
}

function stringData(t: Translation, document: Raw, at: PathSegment[], secret: boolean): Record<string, string> {
  const data = Object.fromEntries(Object.entries(t.mapping(document.data, [...at, 'data'], '{ mode: prod }')).map(([key, value]) => [key, secret ? Buffer.from(String(value), 'base64').toString('utf8') : String(value)]));
  const plain = Object.fromEntries(Object.entries(t.mapping(document.stringData, [...at, 'stringData'], '{ mode: prod }')).map(([key, value]) => [key, String(value)]));
  return { ...data, ...plain };
}

const isCorralService = (t: Translation, document: Raw, at: PathSegment[]) =>
  Object.keys(t.mapping(t.mapping(document.spec, [...at, 'spec'], '{ selector: { app: web } }').selector, [...at, 'spec', 'selector'], '{ app: web }')).every((key) => key.startsWith('corral.dev/'));

export function translateKube(source: ParsedFile, sink: WarningSink): { parsed: ParsedFile; data: Raw } {
  const t = new Translation(source, sink);
  const documents = (source.data as unknown[]).map((document, index) => t.mapping(document, [index], '{ apiVersion: v1, kind: Pod, metadata: { name: web }, spec: { containers: [...] } }'));
  const named = (kind: string) => new Map(documents.flatMap((document, index) => (document.kind === kind
    ? [[String(t.mapping(document.metadata, [index, 'metadata'], '{ name: settings }').name), stringData(t, document, [index], kind === 'Secret')] as const] : [])));
  const translation = new KubeTranslation(t, { configMaps: named('ConfigMap'), secrets: named('Secret') });
  documents.forEach((document, index) => {
    const metadata = t.mapping(document.metadata, [index, 'metadata'], '{ name: web }');
    if ((document.kind === 'Pod' || document.kind === 'Deployment') && (typeof metadata.name !== 'string' || metadata.name === '')) {
      throw errorAt(source, document.metadata === undefined ? [index, 'kind'] : [index, 'metadata'], `this ${String(document.kind)} has no metadata.name`, 'add metadata: { name: web }: the name becomes the pod\'s');
    }
    const name = String(metadata.name ?? `${String(document.kind).toLowerCase()}-${index}`);
    if (document.kind === 'Pod') {
      translation.pod(name, metadata, t.mapping(document.spec, [index, 'spec'], '{ containers: [{ name: app, image: nginx }] }'), [index, 'spec'], [index, 'metadata']);
    } else if (document.kind === 'Deployment') {
      const spec = t.mapping(document.spec, [index, 'spec'], '{ replicas: 1, template: { spec: { containers: [...] } } }');
      const template = t.mapping(spec.template, [index, 'spec', 'template'], '{ spec: { containers: [{ name: app, image: nginx }] } }');
      const templateMetadata = t.mapping(template.metadata, [index, 'spec', 'template', 'metadata'], '{ labels: { app: web } }');
      const templateSpec = t.mapping(template.spec, [index, 'spec', 'template', 'spec'], '{ containers: [{ name: app, image: nginx }] }');
      const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
      if (!Number.isInteger(replicas) || replicas < 0 || replicas > MOST_REPLICAS) {
        throw errorAt(source, [index, 'spec', 'replicas'], `replicas: ${String(spec.replicas)} is not a number of pods from 0 to ${MOST_REPLICAS}`, `write a whole number from 0 to ${MOST_REPLICAS}: each replica is a pod on this host`);
      }
      t.unsupportedKeys(spec, ['replicas', 'selector', 'template', 'strategy'], [index, 'spec']);
      for (const pod of replicaPods(name, replicas)) {
        translation.pod(pod, { ...templateMetadata, name }, templateSpec, [index, 'spec', 'template', 'spec'], [index, 'spec', 'template', 'metadata']);
      }
    } else if (document.kind === 'PersistentVolumeClaim') {
      translation.volumes[corralName(name)] ??= {};
      t.from(['volumes', corralName(name)], [index]);
    } else if (document.kind === 'Service' && isCorralService(t, document, [index])) {
      // Corral's own export: the ports it publishes are the containers' hostPorts already.
    } else if (document.kind === 'Service') {
      t.unsupported([index, 'kind'], 'a Service is for a cluster; ports are published from the containers\' hostPort, ignored');
    } else if (document.kind !== 'ConfigMap' && document.kind !== 'Secret') {
      t.unsupported([index, 'kind'], `kind ${String(document.kind)} is not supported (Pod, Deployment, PersistentVolumeClaim, ConfigMap, Secret are), ignored`);
    }
  });
  if (Object.keys(translation.pods).length === 0 && !documents.some((document) => document?.kind === 'Deployment')) {
    throw errorAt(source, [0], 'no Pod or Deployment in this file: nothing to run', 'add a Pod or a Deployment, or name the project file that has them with -f');
  }
  const out: Raw = { pods: translation.pods };
  if (Object.keys(translation.volumes).length > 0) out.volumes = translation.volumes;
  if (Object.keys(translation.configs).length > 0) out.configs = translation.configs;
  if (Object.keys(translation.secrets).length > 0) out.secrets = translation.secrets;
  return { parsed: t.parsed(out), data: out };
}
