import { stringify } from 'yaml';
import { type Container, HOST_GATEWAY, type Mount, type Pod, type Project, type ProvidedFile } from '../project/model.js';
import { SHARED_KIND } from '../project/namespaces.js';

// The way out to a cluster: the desired model as Kubernetes manifests. A pod whose containers
// restart always becomes a Deployment of one replica, any other a Pod; published ports become
// hostPorts and a Service; named volumes PersistentVolumeClaims; binds hostPath volumes; tmpfs
// emptyDir in memory; secrets and configs Secrets and ConfigMaps mounted file by file. What a
// cluster has no field for is reported, never left out silently.

type Manifest = Record<string, unknown>;

/** The label that ties a Deployment or Service to its pods; Corral's own (imports leave it out). */
export const POD_LABEL = 'corral.dev/pod';

/** DNS labels as Kubernetes wants them: no underscores. */
const kubeName = (name: string) => name.replace(/_/g, '-');

/**
 * Whether an alias is the service name a replica carries (pod web-2 of service web: alias web, see
 * compose.ts): in a cluster the Service of the replicas gives that name, so it is no loss.
 */
const isReplicaAlias = (pod: Pod, alias: string) => pod.name.startsWith(`${alias}-`) && /^\d+$/.test(pod.name.slice(alias.length + 1));

const RESTART_POLICY: Record<string, string> = { always: 'Always', 'unless-stopped': 'Always', 'on-failure': 'OnFailure', no: 'Never' };

function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

function probeOf(container: Container): Manifest | undefined {
  const health = container.lifecycle.healthcheck;
  if (!health) return undefined;
  const { probe } = health;
  // A Pod has no sd_notify probe (warned about where the container is written).
  if (probe.kind === 'notify') return undefined;
  const action = probe.kind === 'exec' ? { exec: { command: [...probe.argv] } }
    : probe.kind === 'tcp' ? { tcpSocket: { port: probe.port } }
    : { httpGet: { path: probe.path, port: probe.port } };
  return {
    ...action,
    periodSeconds: seconds(health.intervalMs),
    timeoutSeconds: seconds(health.timeoutMs),
    failureThreshold: health.retries,
    ...(health.startPeriodMs > 0 ? { initialDelaySeconds: seconds(health.startPeriodMs) } : {}),
  };
}

class KubeExport {
  readonly documents: Manifest[] = [];
  private readonly claims = new Set<string>();
  private readonly provided = new Map<string, Manifest>();

  constructor(private readonly warn: (warning: string) => void) {}

  /** A pod's volume for a mount (deduplicated by name) and the mount itself. */
  private volumeFor(mount: Mount, index: number, volumes: Map<string, Manifest>, owner: string): Manifest {
    let name: string;
    if (mount.type === 'named') {
      // A host volume's claim is named after it, so that the projects sharing it share the claim too.
      name = kubeName(mount.host?.name ?? mount.volume!);
      volumes.set(name, { name, persistentVolumeClaim: { claimName: name } });
      if (!this.claims.has(name)) {
        this.claims.add(name);
        // An external volume was made elsewhere: its claim too, as an external network's or volume's is in compose.
        if (mount.host?.external) this.warn(`${owner}: volume ${mount.volume} is external: no PersistentVolumeClaim is written; claim ${name} must exist in the cluster`);
        else this.documents.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      }
    } else if (mount.type === 'bind') {
      name = kubeName(mount.volume ?? `${owner}-bind-${index}`);
      volumes.set(name, { name, hostPath: { path: mount.source, ...(mount.createHostPath ? { type: 'DirectoryOrCreate' } : {}) } });
    } else {
      name = kubeName(mount.volume ?? `${owner}-tmpfs-${index}`);
      volumes.set(name, { name, emptyDir: { medium: 'Memory', ...(mount.size ? { sizeLimit: String(mount.size) } : {}) } });
    }
    return { name, mountPath: mount.target, ...(mount.readOnly ? { readOnly: true } : {}), ...(mount.subpath ? { subPath: mount.subpath } : {}) };
  }

  /** A secret or config as a Secret or ConfigMap of one key (its name), mounted by subPath at its target. */
  private fileFor(file: ProvidedFile, kind: 'Secret' | 'ConfigMap', volumes: Map<string, Manifest>): Manifest {
    const name = kubeName(file.name);
    const key = `${kind}/${name}`;
    if (!this.provided.has(key)) {
      const document: Manifest = kind === 'Secret'
        ? { apiVersion: 'v1', kind, metadata: { name }, type: 'Opaque', data: { [name]: Buffer.from(file.content).toString('base64') } }
        : { apiVersion: 'v1', kind, metadata: { name }, data: { [name]: file.content } };
      this.provided.set(key, document);
      this.documents.push(document);
    }
    const volumeName = `${kind === 'Secret' ? 'secret' : 'config'}-${name}`;
    const source = kind === 'Secret' ? { secret: { secretName: name, items: [{ key: name, path: name, mode: file.mode }] } } : { configMap: { name, items: [{ key: name, path: name, mode: file.mode }] } };
    volumes.set(volumeName, { name: volumeName, ...source });
    return { name: volumeName, mountPath: file.target, subPath: name, readOnly: true };
  }

  private container(container: Container, pod: Pod, volumes: Map<string, Manifest>, ports: boolean, sysctls: Record<string, string>): Manifest {
    const where = `${pod.name}/${container.name}`;
    const { security, resources } = container;
    if (!container.image) this.warn(`${where} runs the directory ${container.rootfs}, which a cluster cannot: its image is written as "rootfs:${container.rootfs}"; push an image and set image:`);
    if (container.image?.build) this.warn(`${where} is built locally (${container.image.ref}): push it to a registry the cluster can pull from`);
    const command = container.image ? container.image.entrypoint : container.argv;
    const args = container.image?.command;
    const [uid, gid] = container.user.split(':');
    const numeric = (text: string | undefined) => text !== undefined && /^\d+$/.test(text);
    if (container.user && !(numeric(uid) && (gid === undefined || numeric(gid)))) this.warn(`${where}: user ${container.user} is a name; Kubernetes needs runAsUser as a number, left out`);
    if (resources.pidsLimit !== undefined) this.warn(`${where}: a pids limit has no field in a Pod, left out`);
    if (Object.keys(security.ulimits).length > 0) this.warn(`${where}: ulimits have no field in a Pod, left out`);
    if (container.lifecycle.healthcheck?.probe.kind === 'notify') this.warn(`${where}: a Pod has no probe for sd_notify readiness (healthcheck notify: true), left out; give it a readinessProbe`);
    if (container.userns) this.warn(`${where}: userns has no field in a Pod (hostUsers: false is the nearest), left out`);
    if (container.initProcess) this.warn(`${where}: init: true has no field in a Pod (shareProcessNamespace gives the pod a pause process as PID 1), left out`);
    if (container.devices) this.warn(`${where}: devices have no field in a Pod (a device plugin gives them in a cluster), left out`);
    if (container.lifecycle.postStart || container.lifecycle.preStop) this.warn(`${where}: post_start and pre_stop hooks are left out (a Pod's lifecycle handlers take one command each, without user or environment)`);
    if (Object.keys(container.labels).length > 0) this.warn(`${where}: container labels have no place in a Pod, left out`);
    for (const key of ['network', 'ipc', 'pid'] as const) {
      const mode = container.namespaces[key];
      const shared = pod.share.includes(SHARED_KIND[key]);
      if (mode.kind === 'container' || (mode.kind === 'none' && shared)) this.warn(`${where}: ${key}: ${mode.kind} has no field in a Pod, left out`);
    }
    Object.assign(sysctls, security.sysctls);
    const limits = {
      ...(resources.cpus !== undefined ? { cpu: `${Math.round(resources.cpus * 1000)}m` } : {}),
      ...(resources.memoryBytes !== undefined ? { memory: String(resources.memoryBytes) } : {}),
    };
    const capabilities = {
      ...(security.capAdd.length ? { add: security.capAdd.map((name) => name.replace(/^CAP_/, '')) } : {}),
      ...(security.capDrop.length ? { drop: security.capDrop.map((name) => name.replace(/^CAP_/, '')) } : {}),
    };
    const securityContext = {
      ...(numeric(uid) ? { runAsUser: Number(uid) } : {}),
      ...(numeric(gid) ? { runAsGroup: Number(gid) } : {}),
      ...(security.privileged ? { privileged: true } : {}),
      ...(security.readOnlyRootfs ? { readOnlyRootFilesystem: true } : {}),
      allowPrivilegeEscalation: !security.noNewPrivileges,
      ...(security.seccomp === 'default' ? {} : { seccompProfile: security.seccomp === 'unconfined' ? { type: 'Unconfined' } : { type: 'Localhost', localhostProfile: security.seccomp } }),
      ...(Object.keys(capabilities).length ? { capabilities } : {}),
    };
    const mounts = [
      ...container.mounts.map((mount, index) => this.volumeFor(mount, index, volumes, kubeName(`${pod.name}-${container.name}`))),
      ...container.files.map((file) => this.fileFor(file, file.kind === 'secret' ? 'Secret' : 'ConfigMap', volumes)),
    ];
    const probe = probeOf(container);
    const env = Object.keys(container.env).sort().map((name) => ({ name, value: container.env[name] }));
    return {
      name: kubeName(container.name),
      image: container.image?.ref ?? `rootfs:${container.rootfs}`,
      ...(command?.length ? { command: [...command] } : {}),
      ...(args?.length ? { args: [...args] } : {}),
      ...(container.workdir ? { workingDir: container.workdir } : {}),
      ...(container.tty ? { tty: true } : {}),
      ...(container.stdinOpen ? { stdin: true } : {}),
      ...(env.length ? { env } : {}),
      ...(ports && pod.network.ports.length ? {
        ports: pod.network.ports.map((port) => ({
          containerPort: port.containerPort, protocol: port.protocol.toUpperCase(),
          ...(port.hostPort ? { hostPort: port.hostPort } : {}), ...(port.hostIp ? { hostIP: port.hostIp } : {}),
        })),
      } : {}),
      ...(Object.keys(limits).length || resources.memoryReservationBytes !== undefined ? {
        resources: { ...(Object.keys(limits).length ? { limits } : {}), ...(resources.memoryReservationBytes !== undefined ? { requests: { memory: String(resources.memoryReservationBytes) } } : {}) },
      } : {}),
      securityContext,
      ...(probe ? { livenessProbe: probe } : {}),
      ...(container.image?.pullPolicy ? { imagePullPolicy: { missing: 'IfNotPresent', always: 'Always', never: 'Never', build: 'IfNotPresent' }[container.image.pullPolicy] } : {}),
      ...(mounts.length ? { volumeMounts: mounts } : {}),
    };
  }

  pod(pod: Pod): void {
    const volumes = new Map<string, Manifest>();
    const sysctls: Record<string, string> = {};
    const inits = pod.containers.filter((container) => container.init);
    const apps = pod.containers.filter((container) => !container.init);
    const policies = [...new Set(apps.map((container) => container.lifecycle.restart.name))];
    if (policies.length > 1) this.warn(`${pod.name}: its containers restart differently (${policies.join(', ')}); a Pod has one restartPolicy: ${RESTART_POLICY[policies[0]!]}`);
    const restartPolicy = RESTART_POLICY[policies[0] ?? 'no']!;
    const podLabels = { ...pod.labels, [POD_LABEL]: pod.name };
    // host-gateway is the host's address on the pod's network: a hostAlias needs an IP, and a Pod's node is known only once it is scheduled.
    const hostAliases = pod.network.extraHosts.filter((entry) => entry.ip !== HOST_GATEWAY).map((entry) => ({ ip: entry.ip, hostnames: [entry.host] }));
    for (const entry of pod.network.extraHosts.filter((one) => one.ip === HOST_GATEWAY)) {
      this.warn(`${pod.name}: extra_hosts ${entry.host}: host-gateway has no IP in a cluster (a hostAlias needs one, and the node a Pod runs on is known only once it is scheduled), left out; give the container the node's address from the downward API (env valueFrom.fieldRef.fieldPath: status.hostIP), or write the address of the machine meant`);
    }
    const grace = Math.max(...pod.containers.map((container) => container.lifecycle.stopGraceMs));
    const spec: Manifest = {
      ...(pod.hostname !== pod.name ? { hostname: pod.hostname } : {}),
      ...(pod.share.includes('pid') ? { shareProcessNamespace: true } : {}),
      ...(pod.network.mode === 'host' ? { hostNetwork: true } : {}),
      ...(pod.network.dns.length || pod.network.dnsSearch.length ? { dnsConfig: { ...(pod.network.dns.length ? { nameservers: [...pod.network.dns] } : {}), ...(pod.network.dnsSearch.length ? { searches: [...pod.network.dnsSearch] } : {}) } } : {}),
      ...(hostAliases.length ? { hostAliases } : {}),
      restartPolicy,
      terminationGracePeriodSeconds: seconds(grace),
      ...(inits.length ? { initContainers: inits.map((container) => this.container(container, pod, volumes, false, sysctls)) } : {}),
      containers: apps.map((container, index) => this.container(container, pod, volumes, index === 0, sysctls)),
    };
    if (Object.keys(sysctls).length) spec.securityContext = { sysctls: Object.entries(sysctls).map(([name, value]) => ({ name, value })) };
    if (volumes.size) spec.volumes = [...volumes.values()];
    if (pod.network.mode === 'none') this.warn(`${pod.name}: network: none has no field in a Pod, left out`);
    // `?? []`: an applied project of an older Corral has no networks.
    const named = (pod.network.networks ?? []).filter((membership) => membership.name !== 'default' || membership.aliases.some((alias) => !isReplicaAlias(pod, alias)) || membership.ipv4Address !== undefined);
    if (named.length > 0) this.warn(`${pod.name}: networks (${named.map((membership) => membership.name).join(', ')}) and their aliases and addresses have no equivalent in a cluster, where every Pod reaches every Service; left out (a NetworkPolicy can isolate)`);
    if (Object.keys(pod.resources).length) this.warn(`${pod.name}: pod-level resources have no field in a Pod, left out`);
    const name = kubeName(pod.name);
    if (restartPolicy === 'Always') {
      this.documents.push({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: podLabels },
        spec: { replicas: 1, selector: { matchLabels: { [POD_LABEL]: pod.name } }, template: { metadata: { labels: podLabels }, spec } },
      });
    } else {
      this.documents.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: podLabels }, spec });
    }
    if (pod.network.ports.length) {
      this.documents.push({
        apiVersion: 'v1', kind: 'Service', metadata: { name },
        spec: {
          selector: { [POD_LABEL]: pod.name },
          ports: pod.network.ports.map((port) => ({ name: `${port.protocol}-${port.containerPort}`, port: port.hostPort || port.containerPort, targetPort: port.containerPort, protocol: port.protocol.toUpperCase() })),
        },
      });
    }
  }
}

/** The project as Kubernetes manifests, in the order a cluster wants them (claims and data first). */
export function generateKubeManifests(project: Project, warn: (warning: string) => void): Manifest[] {
  const exporter = new KubeExport(warn);
  for (const pod of project.pods) exporter.pod(pod);
  const rank = (document: Manifest) => ['ConfigMap', 'Secret', 'PersistentVolumeClaim'].includes(String(document.kind)) ? 0 : 1;
  return [...exporter.documents].sort((a, b) => rank(a) - rank(b));
}

/** The manifests as one multi-document YAML stream. */
export function manifestsAsYaml(documents: readonly object[]): string {
  return documents.map((document) => stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
