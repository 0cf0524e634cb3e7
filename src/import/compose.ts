import { isIP } from 'node:net';
import type { ParsedFile, PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import { corralName, type Raw, Translation, type WarningSink } from './translation.js';
import { normaliseProjectName } from '../project/name.js';
import { checkComposeKeys } from './compose-keys.js';
import { composeReplicasOf, replicaPods } from './replicas.js';
import { hostGpuNodes, refuseGpus } from './gpus.js';
import { composePorts, PortRefusal } from './compose-ports.js';

// docker-compose -> Corral: each service becomes a pod of one container of the same name, except
// that `network_mode: service:x` puts the service into x's pod (sharing its network, IPC and UTS
// namespaces, as compose does). Keys with the same meaning are copied; the others are translated
// or reported as warnings with their line and column.
//
// Which compose keys are carried, refused or warned is decided in compose-keys.ts, before any concern
// runs. To carry a new key: make it `carried` there, and name it in TOP_KEYS or SERVICE_KEYS with the
// concern that handles it (a method of ComposeTranslation); test/import/compose-keys.test.ts fails on
// a carried service key that no concern takes.

/** Concerns of a service, in the order they run (warnings come out in this order). */
const SERVICE_CONCERNS = ['references', 'environment', 'build', 'envFile', 'kernelSettings', 'healthcheck', 'resources', 'ports', 'volumes', 'namespaces', 'podSettings', 'extraHosts', 'serviceNetworks', 'dependsOn',
  'securityOptions', 'pullPolicy', 'usernsMode', 'develop', 'replicas', 'devices', 'gpus', 'ignored'] as const;
type ServiceConcern = typeof SERVICE_CONCERNS[number];

/**
 * Every service key Corral takes. 'copy': the same meaning, taken as it is (a concern may still
 * check or reshape it: secrets, configs, build, env_file, ports); otherwise the concern that
 * translates it, or warns that it is ignored.
 */
export const SERVICE_KEYS: Readonly<Record<string, 'copy' | ServiceConcern>> = {
  image: 'copy', build: 'copy', command: 'copy', entrypoint: 'copy', working_dir: 'copy', user: 'copy', hostname: 'copy', labels: 'copy',
  cap_add: 'copy', cap_drop: 'copy', privileged: 'copy', read_only: 'copy', sysctls: 'kernelSettings', ulimits: 'kernelSettings', env_file: 'copy', restart: 'copy',
  stop_signal: 'copy', stop_grace_period: 'copy', healthcheck: 'healthcheck', ports: 'copy', profiles: 'copy', secrets: 'copy', configs: 'copy',
  environment: 'environment',
  mem_limit: 'resources', mem_reservation: 'resources', cpus: 'resources', pids_limit: 'resources', deploy: 'resources',
  volumes: 'volumes', tmpfs: 'volumes',
  network_mode: 'namespaces', pid: 'namespaces', ipc: 'namespaces',
  shm_size: 'podSettings', dns: 'podSettings', dns_search: 'podSettings', extra_hosts: 'extraHosts',
  depends_on: 'dependsOn',
  security_opt: 'securityOptions',
  pull_policy: 'pullPolicy',
  develop: 'develop',
  networks: 'serviceNetworks', container_name: 'serviceNetworks', links: 'serviceNetworks', mac_address: 'serviceNetworks',
  tty: 'copy', stdin_open: 'copy',
  init: 'copy', post_start: 'copy', pre_stop: 'copy', scale: 'replicas', devices: 'devices', gpus: 'gpus',
  userns_mode: 'usernsMode',
  // Taken (and merged) by the loader before the translation: src/load/extends.ts.
  extends: 'ignored',
};

/** Top-level keys besides services: the concern that takes each (services is translated on its own). */
const TOP_KEYS = { name: 'name', volumes: 'volumeDefinitions', secrets: 'definitions', configs: 'definitions', networks: 'networks' } as const;

/** Keys of a service's build: that Corral's build: takes as they are (secrets is translated on its own). */
const BUILD_KEYS = ['dockerfile', 'dockerfile_inline', 'args', 'target', 'labels', 'no_cache', 'pull'] as const;

/** Service keys that are settings of the pod the service lands in. */
const POD_KEYS = ['shm_size', 'dns', 'dns_search'] as const;
/** Service keys that set limits: without deploy:, the first of them written is where an error in resources points. */
const RESOURCE_KEYS = ['mem_limit', 'cpus', 'mem_reservation', 'pids_limit'];

/** Short-form mount options that only mean something on Docker Desktop for macOS. */
const MACOS_MOUNT_OPTIONS = ['cached', 'delegated', 'consistent'];

const isHostPath = (source: string) => /^[./~]/.test(source);

interface Placement {
  pod: string;
  container: string;
  /** The pods its replicas run in: [pod] for one (the default), pod-1..pod-N for more, none for scale: 0. */
  pods: string[];
}

/** One service on its way: where it is in the compose file, and what it becomes. */
interface Service {
  readonly name: string;
  readonly raw: Raw;
  /** Its path in the compose file (services.NAME). */
  readonly at: PathSegment[];
  /** Its container's path in the Corral document. */
  readonly to: PathSegment[];
  readonly container: Raw;
  readonly pod: Raw;
  readonly podName: string;
  readonly containerName: string;
  /** Whether the pod is the service's own (not another's through network_mode: service:x). */
  readonly ownPod: boolean;
  /** What the service's own things (anonymous volumes) are named after: the service, or its replica's pod. */
  readonly replica: string;
}

/**
 * Which pod each service lands in: its own, or (network_mode: service:x) the pod of x, followed
 * through chains; a service of several replicas in one pod each. Sharing the namespaces of a service
 * of several replicas, or being several replicas in another's pod, is refused: which one is meant?
 */
function placeServices(t: Translation, services: Record<string, Raw>): Map<string, Placement> {
  const placements = new Map<string, Placement>();
  const podOf = (name: string, seen: Set<string>): string => {
    const mode = String(services[name]?.network_mode ?? '');
    const target = mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
    if (!target || !services[target] || seen.has(target)) return corralName(name);
    return podOf(target, new Set([...seen, name]));
  };
  const replicas = new Map(Object.entries(services).map(([name, raw]) => [name, composeReplicasOf(t, raw, ['services', name])]));
  for (const name of Object.keys(services)) {
    const pod = podOf(name, new Set([name]));
    const ownPod = pod === corralName(name);
    const count = replicas.get(name)!;
    if (!ownPod && count !== 1) {
      throw errorAt(t.source, ['services', name, ...(services[name]!.scale !== undefined ? ['scale'] : ['deploy', 'replicas'])], `service ${name} asks for ${count} replicas but shares the network of another service (network_mode), whose pod has room for one`, 'give it a network of its own to run replicas, or remove scale / deploy.replicas');
    }
    if (count > 1 && services[name]!.container_name !== undefined) {
      throw errorAt(t.source, ['services', name, 'container_name'], `service ${name} asks for ${count} replicas but container_name names one container`, 'remove container_name (each replica is named NAME-1..NAME-N), or run one replica; compose refuses this too');
    }
    placements.set(name, { pod, container: corralName(name), pods: ownPod ? replicaPods(pod, count) : [pod] });
  }
  for (const [name, raw] of Object.entries(services)) {
    for (const key of ['network_mode', 'ipc', 'pid']) {
      const target = String(raw[key] ?? '').startsWith('service:') ? String(raw[key]).slice('service:'.length) : undefined;
      const count = target === undefined ? 1 : replicas.get(target);
      if (count !== undefined && count !== 1) {
        throw errorAt(t.source, ['services', name, key], `${key}: service:${target} names a service of ${count} replicas: there is no one pod to share`, `run ${target} as one replica, or give ${name} a ${key === 'network_mode' ? 'network' : key} of its own`);
      }
    }
  }
  return placements;
}

/** compose's `ipc`/`pid`: host, private, shareable, service:x, container:x. */
function namespaceMode(value: string, placements: Map<string, Placement>): string | undefined {
  if (value === 'host') return 'host';
  if (value === 'private') return 'none';
  if (value === 'shareable' || value === '') return undefined;
  const target = value.startsWith('service:') ? placements.get(value.slice('service:'.length)) : undefined;
  return target ? `container:${target.pod}/${target.container}` : undefined;
}

/** The options of a short tmpfs entry (`/tmp:size=64m,mode=1777,uid=1000,gid=1000`); `rw` is the default. */
function tmpfsOptions(options: string, refuse: (option: string) => never): Raw {
  const settings: Raw = {};
  for (const option of options.split(',').filter(Boolean)) {
    const [name, value] = option.split('=', 2) as [string, string | undefined];
    if ((name === 'size' || name === 'mode') && value) settings[name] = value;
    else if ((name === 'uid' || name === 'gid') && value && /^\d+$/.test(value)) settings[name] = Number(value);
    else if (option !== 'rw') refuse(option);
  }
  return settings;
}

/** An anonymous volume becomes a named one of the service's own: `app` and /var/lib/x give app-var-lib-x. */
const anonymousVolumeName = (service: string, target: string) => corralName(`${service}-${target.split('/').filter(Boolean).join('-')}`);

/** One compose file on its way to a Corral document: one method per concern. */
class ComposeTranslation {
  readonly pods: Record<string, Raw> = {};
  /** Named volumes, the file's own and those its anonymous volumes become. */
  readonly namedVolumes: Record<string, Raw> = {};
  readonly out: Raw = { pods: this.pods };
  /** Which service made each container, to name both when two would be one. */
  private readonly placedAs = new Map<string, string>();
  private placements = new Map<string, Placement>();

  constructor(readonly t: Translation, private readonly hostGpuNodes: () => readonly string[]) {}

  translate(data: Raw): Raw {
    const { t } = this;
    const services = t.mapping(data.services, ['services'], 'services: { web: { image: nginx } }') as Record<string, Raw>;
    for (const [name, service] of Object.entries(services)) {
      if (service === null) throw errorAt(t.source, ['services', name], `service ${name} is empty`, 'give it image: or build:, e.g. image: nginx', { key: true });
      t.mapping(service, ['services', name], '{ image: nginx }');
    }
    checkComposeKeys(t, data);
    this.placements = placeServices(t, services);
    for (const key of Object.keys(data)) {
      if (key === 'services' || key.startsWith('x-')) continue;
      // The other keys were refused or warned about by checkComposeKeys.
      if (Object.hasOwn(TOP_KEYS, key)) this[TOP_KEYS[key as keyof typeof TOP_KEYS]](key, data[key]);
    }
    for (const [name, raw] of Object.entries(services)) {
      for (const podName of this.placements.get(name)!.pods) this.service(name, raw, podName);
    }
    if (Object.keys(this.namedVolumes).length > 0) this.out.volumes = this.namedVolumes;
    return this.out;
  }

  // Top-level keys.

  /** compose normalises the name it reads (`My App` is `myapp`); a name that is no string is left to the schema to refuse. */
  private name(_key: string, value: unknown): void {
    this.out.name = typeof value === 'string' ? normaliseProjectName(value) : value;
  }

  /** Top-level secrets: and configs: with their content in this file (file, environment or content). */
  private definitions(key: string, value: unknown): void {
    const { t } = this;
    this.out[key] = Object.fromEntries(Object.entries(t.mapping(value, [key], '{ token: { file: ./token.txt } }')).flatMap(([name, inner]) => {
      const definition = t.mapping(inner, [key, name], '{ file: ./token.txt }');
      t.from([key, corralName(name)], [key, name]);
      const kept = Object.fromEntries(Object.entries(definition).filter(([field]) => ['file', 'environment', 'content'].includes(field)));
      if (Object.keys(kept).length === 0) {
        throw errorAt(t.source, [key, name], `${key}.${name} has no file, environment or content: the services that use it would run without it`, 'give it file: ./FILE, environment: VAR or content: TEXT', { key: true });
      }
      return [[corralName(name), kept]];
    }));
  }

  /** Top-level volumes: a bind through driver_opts becomes a bind volume; the rest named volumes. */
  private volumeDefinitions(key: string, value: unknown): void {
    const { t } = this;
    const definitions = t.mapping(value, [key], '{ data: {} }');
    for (const [name, value] of Object.entries(definitions)) {
      const at = ['volumes', name];
      const definition = value === null ? null : t.mapping(value, at, '{ driver_opts: { type: none, o: bind, device: /srv/data } }');
      t.from(['volumes', corralName(name)], at);
      const options = t.mapping(definition?.driver_opts, [...at, 'driver_opts'], '{ type: none, o: bind, device: /srv/data }');
      // compose's long-gone `external: { name: X }` still names the host volume, as compose-go reads it.
      const external = definition?.external;
      const externalName = typeof external === 'object' && external !== null ? t.mapping(external, [...at, 'external'], '{ name: data }').name : undefined;
      const isExternal = external === true || externalName !== undefined || (typeof external === 'object' && external !== null);
      if (isExternal && definition?.driver_opts !== undefined) {
        throw errorAt(t.source, [...at, 'external'], `external and driver_opts conflict: an external volume is made elsewhere, with its own options`, 'remove driver_opts, or remove external to have the project make the volume', { key: true });
      }
      if (options.type === 'none' && String(options.o ?? '').split(',').includes('bind') && options.device) {
        this.namedVolumes[corralName(name)] = { type: 'bind', source: options.device };
        if (definition?.name !== undefined) t.unsupported([...at, 'name'], 'the volume is a bind of its device directory, which other projects reach by the same bind; the name is not needed, ignored');
      } else if (isExternal || definition?.name !== undefined) {
        // The host's volume, named as compose names it: `name:` (or the old external name), else the key as written.
        const hostName = String(externalName ?? definition?.name ?? name);
        this.namedVolumes[corralName(name)] = { ...(isExternal ? { external: true } : {}), ...(hostName !== corralName(name) || definition?.name !== undefined ? { name: hostName } : {}) };
        if (isExternal) t.from(['volumes', corralName(name), 'external'], [...at, 'external']);
        if (definition?.name !== undefined || externalName !== undefined) t.from(['volumes', corralName(name), 'name'], externalName !== undefined ? [...at, 'external', 'name'] : [...at, 'name']);
      } else {
        if (definition?.driver_opts !== undefined) {
          throw errorAt(t.source, [...at, 'driver_opts'], `volumes.${name}.driver_opts: only a bind (type: none, o: bind, device: DIR) is supported; another would be an empty volume`, 'write { type: none, o: bind, device: /srv/data }, or remove driver_opts', { key: true });
        }
        this.namedVolumes[corralName(name)] = {};
      }
    }
  }

  /**
   * Top-level networks: each a network of the project, with its subnet (the first ipam config's) and
   * `internal`. Names become Corral names; the bridge driver is the only one.
   */
  private networks(key: string, value: unknown): void {
    const { t } = this;
    const networks = t.mapping(value, [key], '{ back: { internal: true } }');
    const out: Raw = {};
    for (const [name, inner] of Object.entries(networks)) {
      const at = ['networks', name];
      const definition = t.mapping(inner, at, '{ internal: true, ipam: { config: [{ subnet: 10.89.7.0/24 }] } }');
      const ipam = t.mapping(definition.ipam, [...at, 'ipam'], '{ config: [{ subnet: 10.89.7.0/24 }] }');
      const config = t.mappings(ipam.config, [...at, 'ipam', 'config'], '{ subnet: 10.89.7.0/24 }')[0];
      const network: Raw = {};
      const to = ['networks', corralName(name)];
      if (config?.subnet !== undefined) {
        network.subnet = config.subnet;
        t.from([...to, 'subnet'], [...at, 'ipam', 'config', 0, 'subnet']);
      }
      if (definition.internal !== undefined) {
        network.internal = definition.internal;
        t.from([...to, 'internal'], [...at, 'internal']);
      }
      if (definition.external === true) {
        // A host network (corral network create): compose names it by `name:`, else by its key as written.
        const hostName = corralName(String(definition.name ?? name));
        out[corralName(name)] = { external: true, ...(hostName !== corralName(name) ? { name: hostName } : {}) };
        t.from([...to, 'external'], [...at, 'external']);
        t.from(to, at);
        continue;
      }
      if (definition.driver !== undefined && definition.driver !== 'bridge') t.unsupported([...at, 'driver'], `driver ${String(definition.driver)} is not supported; a bridge is made`);
      out[corralName(name)] = network;
      t.from(to, at);
    }
    this.out.networks = out;
  }

  // Services.

  /** Places the service's container in its pod (one replica's), copies the keys of the same meaning, then runs each concern. */
  private service(name: string, raw: Raw, podName: string): void {
    const { t } = this;
    const at = ['services', name];
    const { pod: servicePod, container: containerName, pods } = this.placements.get(name)!;
    const pod = (this.pods[podName] ??= { containers: {} }) as Raw;
    const ownPod = servicePod === corralName(name);
    if (ownPod) t.from(['pods', podName], at);
    const container: Raw = {};
    if ((pod.containers as Raw)[containerName]) {
      throw errorAt(t.source, at, `services ${this.placedAs.get(`${podName}/${containerName}`)} and ${name} would both be container ${podName}/${containerName}`, 'rename one of them: Corral names are lowercase letters, digits, - and _', { key: true });
    }
    this.placedAs.set(`${podName}/${containerName}`, name);
    (pod.containers as Raw)[containerName] = container;
    const to = ['pods', podName, 'containers', containerName];
    t.from(to, at);
    for (const key of Object.keys(raw)) {
      if (key.startsWith('x-')) continue;
      const handled = Object.hasOwn(SERVICE_KEYS, key) ? SERVICE_KEYS[key] : undefined;
      // Keys that are not Corral's were refused or warned about by checkComposeKeys already.
      if (handled === 'copy') container[key] = raw[key];
    }
    const service: Service = { name, raw, at, to, container, pod, podName, containerName, ownPod, replica: pods.length === 1 ? name : podName };
    for (const concern of SERVICE_CONCERNS) this[concern](service);
  }

  /** secrets: and configs: of a service name definitions of this file; naming another is refused, as compose does. */
  private references({ at, to, container }: Service): void {
    const { t } = this;
    for (const kind of ['secrets', 'configs'] as const) {
      if (container[kind] === undefined) continue;
      const defined = (this.out[kind] ?? {}) as Raw;
      const kept: unknown[] = [];
      t.list(container[kind], [...at, kind], '[token]').forEach((entry, index) => {
        const name = typeof entry === 'string' ? entry : String(t.mapping(entry, [...at, kind, index], '{ source: token }').source);
        if (!defined[corralName(name)]) {
          throw errorAt(t.source, [...at, kind, index], `service ${at[1]} refers to undefined ${kind.slice(0, -1)} ${name}`, `define it under ${kind}: at the top, e.g. ${kind}: { ${name}: { file: ./${name}.txt } }; compose refuses it too`);
        }
        t.from([...to, kind, kept.length], [...at, kind, index]);
        kept.push(entry);
      });
      container[kind] = kept;
    }
  }

  private environment({ raw, at, to, container }: Service): void {
    if (raw.environment === undefined) return;
    container.env = raw.environment;
    this.t.from([...to, 'env'], [...at, 'environment']);
  }

  /**
   * build: a context as a string, or the mapping's keys Corral carries (compose-keys.ts refused or
   * warned about the others); its secrets name top-level ones of this file, as compose checks.
   */
  private build({ at, container }: Service): void {
    const { t } = this;
    if (typeof container.build !== 'object' || container.build === null) return;
    const build = container.build as Raw;
    if (build.dockerfile !== undefined && build.dockerfile_inline !== undefined) {
      throw errorAt(t.source, [...at, 'build', 'dockerfile_inline'], 'build has both dockerfile and dockerfile_inline: which one is the Dockerfile?', 'keep one of them; compose refuses both too', { key: true });
    }
    const carried = Object.fromEntries(BUILD_KEYS.filter((key) => build[key] !== undefined).map((key) => [key, build[key]]));
    container.build = { context: build.context ?? '.', ...carried, ...(build.secrets === undefined ? {} : { secrets: this.buildSecrets(build.secrets, [...at, 'build', 'secrets']) }) };
  }

  /** build.secrets: each a top-level secret of this file, by its Corral name (short form, or source and target). */
  private buildSecrets(value: unknown, at: PathSegment[]): unknown[] {
    const { t } = this;
    const defined = (this.out.secrets ?? {}) as Raw;
    return t.list(value, at, '[token]').map((entry, index) => {
      const long = typeof entry === 'string' ? { source: entry } : t.mapping(entry, [...at, index], '{ source: token, target: npmrc }');
      const name = String(long.source);
      if (!defined[corralName(name)]) {
        throw errorAt(t.source, [...at, index], `the build of service ${at[1]} refers to undefined secret ${name}`, `define it under secrets: at the top, e.g. secrets: { ${name}: { file: ./${name}.txt } }; compose refuses it too`);
      }
      return long.target === undefined ? corralName(name) : { source: corralName(name), target: long.target };
    });
  }

  /** env_file: one path or a list of paths or of { path, required, format }; required: false is kept, format is dotenv (checked by the key walk). */
  private envFile({ at, container }: Service): void {
    if (container.env_file === undefined) return;
    container.env_file = [container.env_file].flat().map((entry, index) => {
      if (typeof entry === 'string') return entry;
      const long = this.t.mapping(entry, [...at, 'env_file', ...(Array.isArray(container.env_file) ? [index] : [])], '{ path: ./app.env, required: false }');
      return long.required === false ? { path: long.path, required: false } : long.path;
    });
  }

  /**
   * sysctls as a mapping or a list of NAME=VALUE; ulimits as a number, a string of one, or
   * { soft, hard }; -1 is unlimited, as in docker.
   */
  private kernelSettings({ raw, at, to, container }: Service): void {
    const { t } = this;
    if (raw.sysctls !== undefined) {
      if (Array.isArray(raw.sysctls)) {
        container.sysctls = Object.fromEntries(raw.sysctls.map((entry, index) => {
          const text = String(entry);
          const equals = text.indexOf('=');
          if (equals <= 0) throw errorAt(t.source, [...at, 'sysctls', index], `sysctl ${text} has no value`, 'write NAME=VALUE, e.g. net.core.somaxconn=1024');
          const name = text.slice(0, equals).trim();
          t.from([...to, 'sysctls', name], [...at, 'sysctls', index]);
          return [name, text.slice(equals + 1).trim()];
        }));
      } else container.sysctls = t.mapping(raw.sysctls, [...at, 'sysctls'], '{ net.core.somaxconn: 1024 }');
      t.from([...to, 'sysctls'], [...at, 'sysctls']);
    }
    if (raw.ulimits === undefined) return;
    const limit = (value: unknown, from: PathSegment[]): number => {
      const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      // -1 is unlimited, carried as it is (the runtime spec writes it as RLIM_INFINITY).
      if (typeof number !== 'number' || !Number.isInteger(number) || number < -1) throw errorAt(t.source, from, `ulimit ${String(value)} is not a number`, 'write a whole number, e.g. nofile: 1024 or nofile: { soft: 1024, hard: 2048 }');
      return number;
    };
    container.ulimits = Object.fromEntries(Object.entries(t.mapping(raw.ulimits, [...at, 'ulimits'], '{ nofile: { soft: 1024, hard: 2048 } }')).map(([name, value]) => {
      const from = [...at, 'ulimits', name];
      if (typeof value !== 'object' || value === null) return [name, limit(value, from)];
      const pair = t.mapping(value, from, '{ soft: 1024, hard: 2048 }');
      return [name, { ...pair, soft: limit(pair.soft, [...from, 'soft']), hard: limit(pair.hard, [...from, 'hard']) }];
    }));
    t.from([...to, 'ulimits'], [...at, 'ulimits']);
  }

  /**
   * healthcheck: retries: 0 is docker's default (3), as the engine reads it. A healthcheck without
   * test keeps the image's test in compose, with the timings written here: without timings that is
   * the image's check as it is; with them it is refused at the first (not carried over yet).
   */
  private healthcheck({ raw, at, to, container }: Service): void {
    if (raw.healthcheck === undefined) return;
    const healthcheck = { ...this.t.mapping(raw.healthcheck, [...at, 'healthcheck'], '{ test: ["CMD", "true"] }') };
    if (healthcheck.retries === 0) delete healthcheck.retries;
    if (healthcheck.test === undefined && healthcheck.disable !== true) {
      const timings = Object.keys(healthcheck).filter((key) => key !== 'disable' && !key.startsWith('x-'));
      // Nothing written but the image's own check: the image's HEALTHCHECK runs as it is, as in compose.
      if (timings.length === 0) return;
      throw errorAt(this.t.source, [...at, 'healthcheck', timings[0]!], 'a healthcheck without test changes the timings of the image\'s HEALTHCHECK in compose; Corral does not carry timings over to the image\'s check yet',
        'write the test here too, the image\'s HEALTHCHECK command; or remove the timings to keep the image\'s check as it is', { key: true });
    }
    container.healthcheck = healthcheck;
    this.t.from([...to, 'healthcheck'], [...at, 'healthcheck']);
  }

  /** Limits from deploy.resources and from the service's own keys (mem_limit, cpus, ...), which win. */
  private resources({ raw, at, to, container }: Service): void {
    const { t } = this;
    const deploy = t.mapping(raw.deploy, [...at, 'deploy'], '{ resources: { limits: { memory: 256m } } }');
    const deployResources = t.mapping(deploy.resources, [...at, 'deploy', 'resources'], '{ limits: { memory: 256m } }');
    const limits = t.mapping(deployResources.limits, [...at, 'deploy', 'resources', 'limits'], '{ memory: 256m, cpus: "0.5" }');
    const reservations = t.mapping(deployResources.reservations, [...at, 'deploy', 'resources', 'reservations'], '{ memory: 128m }');
    const resources: Raw = {
      ...(limits.cpus !== undefined ? { cpus: Number(limits.cpus) } : {}),
      ...(raw.cpus !== undefined ? { cpus: Number(raw.cpus) } : {}),
      ...(limits.memory !== undefined ? { memory: limits.memory } : {}),
      ...(raw.mem_limit !== undefined ? { memory: raw.mem_limit } : {}),
      ...(reservations.memory !== undefined ? { memory_reservation: reservations.memory } : {}),
      ...(raw.mem_reservation !== undefined ? { memory_reservation: raw.mem_reservation } : {}),
      ...(limits.pids !== undefined ? { pids: limits.pids } : {}),
      ...(raw.pids_limit !== undefined ? { pids: raw.pids_limit } : {}),
    };
    if (Object.keys(resources).length > 0) {
      container.resources = resources;
      t.from([...to, 'resources'], [...at, ...(raw.deploy ? ['deploy', 'resources', 'limits'] : [Object.keys(raw).find((key) => RESOURCE_KEYS.includes(key))!])]);
    }
  }

  /** ports: every form compose takes, as Corral's short form, one port each (compose-ports.ts); what cannot be published the same way is refused at its entry. */
  private ports({ at, to, container }: Service): void {
    if (container.ports === undefined) return;
    const ports: unknown[] = [];
    this.t.list(container.ports, [...at, 'ports'], '["8080:80"]').forEach((port, index) => {
      let published: string[];
      try {
        published = composePorts(port);
      } catch (error) {
        if (!(error instanceof PortRefusal)) throw error;
        throw errorAt(this.t.source, [...at, 'ports', index], error.message, error.fix);
      }
      for (const one of published) {
        this.t.from([...to, 'ports', ports.length], [...at, 'ports', index]);
        ports.push(one);
      }
    });
    container.ports = ports;
  }

  /** volumes: (short and long forms; anonymous volumes become named ones) and tmpfs:. */
  private volumes({ raw, at, to, container, replica }: Service): void {
    const { t } = this;
    const mounts: unknown[] = [];
    t.list(raw.volumes, [...at, 'volumes'], '["data:/var/lib/data", "./conf:/etc/app:ro"]').forEach((entry, index) => {
      const from = [...at, 'volumes', index];
      t.from([...to, 'volumes', mounts.length], from);
      if (typeof entry === 'string') {
        const [source, target, options] = entry.split(':');
        if (target === undefined) {
          // An anonymous volume: a named volume of this service's own.
          const name = anonymousVolumeName(replica, source!);
          this.namedVolumes[name] = {};
          mounts.push(`${name}:${source}`);
          return;
        }
        const flags = (options ?? '').split(',').filter(Boolean);
        // nocopy is what Corral does anyway; cached, delegated and consistent are macOS settings.
        const macOs = flags.filter((flag) => MACOS_MOUNT_OPTIONS.includes(flag));
        if (macOs.length > 0) t.unsupported(from, `mount options ${macOs.join(',')} are macOS settings with no effect on Linux; ignored`);
        const unknown = flags.filter((flag) => !['ro', 'rw', 'nocopy', ...MACOS_MOUNT_OPTIONS].includes(flag));
        if (unknown.length > 0) {
          throw errorAt(t.source, from, `mount options ${unknown.join(',')} are not supported: the mount would be made without them`, 'keep ro or rw; relabel for SELinux yourself (chcon) instead of z or Z');
        }
        mounts.push(`${isHostPath(source!) ? source : corralName(source!)}:${target}${flags.includes('ro') ? ':ro' : ''}`);
        return;
      }
      const long = t.mapping(entry, from, '{ type: bind, source: ./data, target: /data }');
      const type = String(long.type ?? 'volume');
      if (!['volume', 'bind', 'tmpfs'].includes(type)) {
        throw errorAt(t.source, [...from, 'type'], `a mount of type ${type} is not supported: the service would run without it`, 'use a volume, a bind mount or a tmpfs');
      }
      const bind = t.mapping(long.bind, [...from, 'bind'], '{ create_host_path: true }');
      const volume = t.mapping(long.volume, [...from, 'volume'], '{ subpath: site }');
      if (type === 'volume' && long.source === undefined) {
        const name = anonymousVolumeName(replica, String(long.target));
        this.namedVolumes[name] = {};
        long.source = name;
      }
      mounts.push({
        type, target: long.target,
        ...(long.source !== undefined ? { source: type === 'volume' ? corralName(String(long.source)) : long.source } : {}),
        ...(long.read_only !== undefined ? { read_only: long.read_only } : {}),
        ...(type === 'bind' ? { create_host_path: bind.create_host_path !== false } : {}),
        ...(volume.subpath !== undefined ? { subpath: volume.subpath } : {}),
        ...(long.tmpfs !== undefined ? { tmpfs: long.tmpfs } : {}),
      });
      if (volume.subpath !== undefined) t.from([...to, 'volumes', mounts.length - 1, 'subpath'], [...from, 'volume', 'subpath']);
    });
    const tmpfs = raw.tmpfs === undefined ? [] : [raw.tmpfs].flat().map(String);
    tmpfs.forEach((entry, index) => {
      const [target, options = ''] = entry.split(':');
      const from = [...at, 'tmpfs', ...(Array.isArray(raw.tmpfs) ? [index] : [])];
      const settings = tmpfsOptions(options, (option) => {
        throw errorAt(t.source, from, `tmpfs option ${option} is not supported: the mount would be made without it`, 'keep size=, mode=, uid= and gid= (numbers) only, e.g. /tmp:size=64m,mode=1777,uid=1000');
      });
      t.from([...to, 'volumes', mounts.length], from);
      mounts.push({ type: 'tmpfs', target, ...(Object.keys(settings).length > 0 ? { tmpfs: settings } : {}) });
    });
    if (mounts.length > 0) container.volumes = mounts;
  }

  /** network_mode, ipc and pid: the host's, none, or another service's. */
  private namespaces({ raw, at, container, pod, ownPod }: Service): void {
    const { t } = this;
    const mode = raw.network_mode === undefined ? undefined : String(raw.network_mode);
    if (mode === 'host' || mode === 'none') {
      if (ownPod) pod.network = mode;
      else container.network = mode === 'host' ? 'host' : 'none';
    } else if (mode?.startsWith('service:')) {
      if (!this.placements.has(mode.slice('service:'.length))) {
        throw errorAt(t.source, [...at, 'network_mode'], `network_mode ${mode} names no service of this project`, `name a service of this project: ${[...this.placements.keys()].join(', ')}; compose refuses it too`);
      }
    } else if (mode !== undefined && mode !== 'bridge' && mode !== 'default') {
      throw errorAt(t.source, [...at, 'network_mode'], `network_mode ${mode} is not supported: the service would run on another network than the one asked for`,
        mode.startsWith('container:') ? 'put that container in this project as a service and write network_mode: service:NAME' : 'write host, none, bridge or service:NAME, or remove network_mode');
    }
    for (const key of ['ipc', 'pid'] as const) {
      if (raw[key] === undefined) continue;
      const translated = namespaceMode(String(raw[key]), this.placements);
      if (translated === 'host' || translated?.startsWith('container:')) container[key] = translated;
      else if (translated === 'none') {
        // compose's default PID namespace is a private one already.
        if (key === 'ipc') container.ipc = 'none';
      }
      else if (raw[key] !== 'shareable') t.unsupported([...at, key], `${key} ${String(raw[key])} is not supported, ignored`);
    }
  }

  /** shm_size, dns, dns_search and extra_hosts belong to the pod. */
  private podSettings({ raw, at, pod, podName }: Service): void {
    for (const key of POD_KEYS) {
      if (raw[key] === undefined) continue;
      pod[key] = raw[key];
      this.t.from(['pods', podName, key], [...at, key]);
    }
  }

  /**
   * extra_hosts, in every form compose takes: a list of `host:ip` or `host=ip` (compose 2.24+), a
   * mapping of host to an address or a list of them; IPv6 with or without brackets. Each address
   * becomes an /etc/hosts line of the pod. `host-gateway` is the host's address on the pod's first
   * network (its bridge's gateway, resolved when the pod is attached); a pod on the host's network or
   * on none has no such gateway, and the model refuses it at the entry (project/network.ts).
   */
  private extraHosts({ raw, at, pod, podName }: Service): void {
    const { t } = this;
    if (raw.extra_hosts === undefined) return;
    const written: { host: string; ip: string; from: PathSegment[] }[] = [];
    if (Array.isArray(raw.extra_hosts)) {
      raw.extra_hosts.forEach((entry, index) => {
        const text = String(entry);
        // compose-go: `=` separates when there is one (IPv6 addresses have colons), else the first `:`.
        const cut = text.includes('=') ? text.indexOf('=') : text.indexOf(':');
        if (cut <= 0) throw errorAt(t.source, [...at, 'extra_hosts', index], `extra_hosts entry ${text} has no address`, 'write HOST:IP or HOST=IP, e.g. db.legacy=10.1.2.3');
        written.push({ host: text.slice(0, cut).trim(), ip: text.slice(cut + 1).trim(), from: [...at, 'extra_hosts', index] });
      });
    } else {
      for (const [host, value] of Object.entries(t.mapping(raw.extra_hosts, [...at, 'extra_hosts'], '{ db.legacy: 10.1.2.3 }'))) {
        const from = [...at, 'extra_hosts', host];
        if (Array.isArray(value)) value.forEach((ip, index) => written.push({ host, ip: String(ip), from: [...from, index] }));
        else written.push({ host, ip: String(value ?? ''), from });
      }
    }
    const hosts = (pod.extra_hosts ?? []) as string[];
    for (const { host, ip, from } of written) {
      const address = ip.replace(/^\[(.*)\]$/, '$1');
      if (address !== 'host-gateway' && !isIP(address)) {
        throw errorAt(t.source, from, `extra_hosts ${host}: ${ip} is not an IP address`, 'write an IPv4 or IPv6 address, or host-gateway, e.g. db.legacy=10.1.2.3');
      }
      t.from(['pods', podName, 'extra_hosts', hosts.length], from);
      hosts.push(`${host}=${address}`);
    }
    pod.extra_hosts = hosts;
    t.from(['pods', podName, 'extra_hosts'], [...at, 'extra_hosts']);
  }

  /**
   * networks: the networks of the service's pod, a list of names or a mapping with aliases,
   * ipv4_address (ipv6_address, which Corral refuses at its line), mac_address and interface_name,
   * in the order of their priority (highest first, as compose attaches them), else as written. The
   * service's own mac_address is its first network's; container_name is one more alias on each of
   * its networks; links name other services' pods under names of its own. A service in another's
   * pod (network_mode: service:x) is on that pod's networks.
   */
  private serviceNetworks({ name: service, raw, at, to: containerAt, container, pod, podName, ownPod }: Service): void {
    const { t } = this;
    // A replica (pod web-2 of service web) carries the service's name on each of its networks, which the resolver answers with every replica.
    const serviceAlias = ownPod && podName !== corralName(service) ? corralName(service) : undefined;
    if (raw.networks === undefined && raw.container_name === undefined && raw.mac_address === undefined && raw.links === undefined && serviceAlias === undefined) return;
    if (!ownPod) {
      for (const key of ['networks', 'container_name', 'mac_address', 'links']) {
        if (raw[key] !== undefined) t.unsupported([...at, key], `the service shares the network of pod ${podName}, which decides its ${key === 'links' ? 'links' : 'networks and names'}; ignored`);
      }
      return;
    }
    if ((pod.network === 'host' || pod.network === 'none') && raw.networks === undefined) {
      for (const key of ['container_name', 'mac_address', 'links']) {
        if (raw[key] !== undefined) t.unsupported([...at, key], `the service is on ${String(pod.network)}'s network, on no project network; ignored`);
      }
      return;
    }
    if (raw.container_name !== undefined) {
      // Also the name `ps` shows, as compose's does.
      container.container_name = raw.container_name;
      t.from([...containerAt, 'container_name'], [...at, 'container_name']);
    }
    const written: [string, Raw | null, PathSegment][] = raw.networks === undefined
      ? [['default', null, 'default']]
      : Array.isArray(raw.networks)
        ? raw.networks.map((name, index) => [String(name), null, index])
        : Object.entries(t.mapping(raw.networks, [...at, 'networks'], '{ back: { aliases: [db] } }')).map(([name, options]) => [name, options === null ? null : t.mapping(options, [...at, 'networks', name], '{ aliases: [db] }'), name]);
    const priority = (options: Raw | null) => Number(options?.priority ?? 0);
    const entries = written.map((entry, order) => ({ entry, order })).sort((a, b) => priority(b.entry[1]) - priority(a.entry[1]) || a.order - b.order).map(({ entry }) => entry);
    const networks: Raw = {};
    for (const [index, [name, options, key]] of entries.entries()) {
      const from = [...at, 'networks', key];
      const to = ['pods', podName, 'networks', corralName(name)];
      const membership: Raw = {};
      for (const option of ['aliases', 'ipv4_address', 'ipv6_address', 'mac_address', 'interface_name'] as const) {
        if (options?.[option] === undefined) continue;
        membership[option] = options[option];
        t.from([...to, option], [...from, option]);
      }
      for (const [alias, key] of [[raw.container_name, 'container_name'], [serviceAlias, undefined]] as const) {
        if (alias === undefined) continue;
        membership.aliases = [...new Set([...((membership.aliases as unknown[] | undefined) ?? []), alias])];
        if (options?.aliases === undefined) t.from([...to, 'aliases'], key ? [...at, key] : at);
      }
      if (index === 0 && raw.mac_address !== undefined && membership.mac_address === undefined) {
        membership.mac_address = raw.mac_address;
        t.from([...to, 'mac_address'], [...at, 'mac_address']);
      }
      networks[corralName(name)] = membership;
      if (raw.networks !== undefined) t.from(to, from);
    }
    pod.networks = networks;
    t.from(['pods', podName, 'networks'], raw.networks !== undefined ? [...at, 'networks'] : raw.container_name !== undefined ? [...at, 'container_name'] : raw.mac_address !== undefined ? [...at, 'mac_address'] : at);
    if (raw.links !== undefined) {
      pod.links = t.list(raw.links, [...at, 'links'], '[db, "db:database"]').map((link, index) => {
        const [service, alias = service] = String(link).split(':') as [string, string?];
        t.from(['pods', podName, 'links', index], [...at, 'links', index]);
        return `${this.placements.get(service)?.pod ?? corralName(service)}:${alias}`;
      });
      t.from(['pods', podName, 'links'], [...at, 'links']);
    }
  }

  /**
   * depends_on: a list or a mapping of conditions, naming containers where the services were placed;
   * a service of several replicas is waited for in each of them, one of scale: 0 in none.
   */
  private dependsOn(service: Service): void {
    this.declaredDependencies(service);
    this.linkedDependencies(service);
  }

  /**
   * links imply the order compose gives them (compose-go's normalisation): each linked service is
   * started first, as `depends_on: { SERVICE: { condition: service_started } }` unless depends_on
   * already names it.
   */
  private linkedDependencies({ raw, at, to, container }: Service): void {
    if (!Array.isArray(raw.links)) return;
    raw.links.forEach((link, index) => {
      const target = this.placements.get(String(link).split(':')[0]!);
      for (const pod of target?.pods ?? []) {
        const resource = `${pod}/${target!.container}`;
        const declared = container.depends_on as string[] | Record<string, unknown> | undefined;
        if (Array.isArray(declared) ? declared.includes(resource) : declared?.[resource] !== undefined) continue;
        if (Array.isArray(declared)) {
          this.t.from([...to, 'depends_on', declared.length], [...at, 'links', index]);
          declared.push(resource);
        } else {
          container.depends_on = { ...declared, [resource]: { condition: 'service_started' } };
          this.t.from([...to, 'depends_on', resource], [...at, 'links', index]);
          if (!declared) this.t.from([...to, 'depends_on'], [...at, 'links']);
        }
      }
    });
  }

  private declaredDependencies({ raw, at, to, container }: Service): void {
    const { t } = this;
    if (raw.depends_on === undefined) return;
    const placed = (dependency: string, from: PathSegment[]): string[] => {
      const target = this.placements.get(dependency);
      if (!target) return [corralName(dependency)];
      if (target.pods.length === 0) t.unsupported(from, `service ${dependency} has scale 0: nothing runs to wait for, ignored`);
      return target.pods.map((pod) => `${pod}/${target.container}`);
    };
    if (typeof raw.depends_on !== 'object' || raw.depends_on === null) {
      throw errorAt(t.source, [...at, 'depends_on'], `depends_on must be a list or a mapping, not ${typeof raw.depends_on === 'string' ? 'a string' : String(raw.depends_on)}`, 'write [db] or { db: { condition: service_healthy } }');
    }
    t.from([...to, 'depends_on'], [...at, 'depends_on']);
    if (Array.isArray(raw.depends_on)) {
      container.depends_on = raw.depends_on.flatMap((dependency, index) => placed(String(dependency), [...at, 'depends_on', index]).map((resource) => ({ resource, index })))
        .map(({ resource, index }, entry) => {
          t.from([...to, 'depends_on', entry], [...at, 'depends_on', index]);
          return resource;
        });
      return;
    }
    const conditions = t.mapping(raw.depends_on, [...at, 'depends_on'], '{ db: { condition: service_healthy } }');
    container.depends_on = Object.fromEntries(Object.entries(conditions).flatMap(([dependency, options]) => placed(dependency, [...at, 'depends_on', dependency]).map((resource) => {
      t.from([...to, 'depends_on', resource], [...at, 'depends_on', dependency]);
      return [resource, options];
    })));
  }

  /**
   * devices: host device nodes, short (`/dev/x:/dev/y:rwm`) or long ({ source, target, permissions });
   * a CDI name (`vendor.com/class=name`) is refused: it needs a CDI spec Corral does not read.
   */
  private devices({ raw, at, to, container }: Service): void {
    const { t } = this;
    if (raw.devices === undefined) return;
    container.devices = t.list(raw.devices, [...at, 'devices'], '["/dev/ttyUSB0:/dev/ttyUSB0:rwm"]').map((entry, index) => {
      const source = typeof entry === 'string' ? entry.split(':')[0]! : t.mapping(entry, [...at, 'devices', index], '{ source: /dev/ttyUSB0 }').source;
      if (typeof source === 'string' && !source.startsWith('/') && source.includes('=')) {
        throw errorAt(t.source, [...at, 'devices', index], `${source} is a CDI device name, which needs a CDI spec Corral does not read`, 'give the host device node instead, e.g. /dev/dri/renderD128');
      }
      return entry;
    });
    t.from([...to, 'devices'], [...at, 'devices']);
  }

  /** gpus and GPU device reservations: refused (gpus.ts says why, for this host). */
  private gpus(service: Service): void {
    refuseGpus(this.t, service.raw, service.at, this.hostGpuNodes);
  }

  /** scale and deploy.replicas are read when services are placed (placeServices); nothing is left to carry. */
  private replicas(): void {}

  /**
   * security_opt: no-new-privileges and seccomp are carried; `label:disable` and
   * `apparmor:unconfined` are what Corral does anyway (it sets no SELinux label and no AppArmor
   * profile). Any other option would leave the container confined otherwise than asked: refused.
   */
  private securityOptions({ raw, at, container }: Service): void {
    const { t } = this;
    if (raw.security_opt === undefined) return;
    for (const [index, entry] of t.list(raw.security_opt, [...at, 'security_opt'], '[no-new-privileges:true]').entries()) {
      const option = String(entry);
      const [name, value] = option.split(/[:=]/, 2) as [string, string | undefined];
      const setting = option.slice(name.length + 1);
      if (name === 'no-new-privileges' && [undefined, 'true', 'false'].includes(value)) container.no_new_privileges = value !== 'false';
      else if (name === 'seccomp' && setting) container.seccomp = setting;
      else if ((name === 'label' && setting === 'disable') || (name === 'apparmor' && setting === 'unconfined')) continue;
      else {
        throw errorAt(t.source, [...at, 'security_opt', index], `security_opt ${option} is not supported: Corral ${name === 'label' ? 'sets no SELinux labels' : name === 'apparmor' ? 'loads no AppArmor profiles' : 'has no such option'}, so the container would be confined otherwise than asked`,
          'keep no-new-privileges[:true|false], seccomp:PROFILE|unconfined, label:disable or apparmor:unconfined; remove the others');
      }
    }
  }

  /** pull_policy: always, never, missing (if_not_present), build; a policy Corral cannot keep (daily, every_..., refresh) is refused. */
  private pullPolicy({ raw, at, container }: Service): void {
    if (raw.pull_policy === undefined) return;
    const policy = { always: 'always', never: 'never', missing: 'missing', if_not_present: 'missing', build: 'build' }[String(raw.pull_policy)];
    if (policy) container.pull_policy = policy;
    else {
      throw errorAt(this.t.source, [...at, 'pull_policy'], `pull_policy ${String(raw.pull_policy)} is not supported: the image would be pulled or built at other times than asked`,
        'write always, missing, never or build; corral pull refreshes an image when you ask');
    }
  }

  /** develop.watch: the rules of `corral watch` (rebuild only on a service with build:, whose image it builds again). */
  private develop({ raw, at, to, container }: Service): void {
    const { t } = this;
    const develop = t.mapping(raw.develop, [...at, 'develop'], '{ watch: [{ path: ./src, action: sync, target: /app }] }');
    const watch = develop.watch === undefined ? undefined : t.mappings(develop.watch, [...at, 'develop', 'watch'], '{ path: ./src, action: sync, target: /app }');
    watch?.forEach((rule, index) => {
      if (rule.action !== 'rebuild' || raw.build !== undefined) return;
      throw errorAt(t.source, [...at, 'develop', 'watch', index, 'action'], 'action: rebuild on a service without build: there is no image to rebuild',
        'add build: to the service, or use sync+restart, or remove the rule');
    });
    if (watch) {
      // x- keys are compose's extensions: for other tools, nothing a rule does.
      container.watch = watch.map((rule) => Object.fromEntries(Object.entries(rule).filter(([key]) => !key.startsWith('x-'))));
      t.from([...to, 'watch'], [...at, 'develop', 'watch']);
    }
  }

  /** userns_mode: host is what Corral does for a compose service; another mode is refused. */
  private usernsMode({ raw, at }: Service): void {
    if (raw.userns_mode === undefined || raw.userns_mode === 'host') return;
    throw errorAt(this.t.source, [...at, 'userns_mode'], `userns_mode ${String(raw.userns_mode)} is not supported: the container would run in the host's user namespace`, 'remove userns_mode, or write the project as a corral.yaml with userns: auto');
  }

  /** Keys taken before the translation (extends, by the loader): nothing is left to carry. */
  private ignored(): void {}
}

/** What the translation asks of the host: its GPUs' device nodes (default: found in /dev). */
export interface ComposeHost {
  readonly gpuNodes?: () => readonly string[];
}

export function translateCompose(source: ParsedFile, data: Raw, sink: WarningSink, host: ComposeHost = {}): { parsed: ParsedFile; data: Raw } {
  const t = new Translation(source, sink);
  const out = new ComposeTranslation(t, host.gpuNodes ?? (() => hostGpuNodes())).translate(data);
  return { parsed: t.parsed(out), data: out };
}
