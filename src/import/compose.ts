import type { ParsedFile, PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import { corralName, type Raw, Translation, type WarningSink } from './translation.js';

// docker-compose -> Corral: each service becomes a pod of one container of the same name, except
// that `network_mode: service:x` puts the service into x's pod (sharing its network, IPC and UTS
// namespaces, as compose does). Keys with the same meaning are copied; the others are translated
// or reported as warnings with their line and column.

/** Service keys Corral's containers take as they are. */
const SAME_KEYS = ['image', 'build', 'command', 'entrypoint', 'working_dir', 'user', 'hostname', 'labels', 'cap_add', 'cap_drop', 'privileged',
  'read_only', 'sysctls', 'ulimits', 'env_file', 'restart', 'stop_signal', 'stop_grace_period', 'healthcheck', 'ports', 'profiles', 'secrets', 'configs'] as const;
/** Service keys that are translated below. */
const TRANSLATED_KEYS = ['environment', 'volumes', 'tmpfs', 'depends_on', 'network_mode', 'pid', 'ipc', 'mem_limit', 'mem_reservation', 'cpus', 'pids_limit',
  'deploy', 'security_opt', 'shm_size', 'dns', 'dns_search', 'extra_hosts', 'pull_policy', 'develop', 'userns_mode', 'networks', 'expose', 'container_name'];
const POD_KEYS = ['shm_size', 'dns', 'dns_search', 'extra_hosts'] as const;

const isHostPath = (source: string) => /^[./~]/.test(source);

interface Placement { pod: string; container: string }

/** Which pod each service lands in: its own, or (network_mode: service:x) the pod of x, followed through chains. */
function placeServices(services: Record<string, Raw>): Map<string, Placement> {
  const placements = new Map<string, Placement>();
  const podOf = (name: string, seen: Set<string>): string => {
    const mode = String(services[name]?.network_mode ?? '');
    const target = mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
    if (!target || !services[target] || seen.has(target)) return corralName(name);
    return podOf(target, new Set([...seen, name]));
  };
  for (const name of Object.keys(services)) placements.set(name, { pod: podOf(name, new Set([name])), container: corralName(name) });
  return placements;
}

function resourcesOf(t: Translation, service: Raw, at: PathSegment[]): Raw | undefined {
  const deploy = t.mapping(service.deploy, [...at, 'deploy'], '{ resources: { limits: { memory: 256m } } }');
  const deployResources = t.mapping(deploy.resources, [...at, 'deploy', 'resources'], '{ limits: { memory: 256m } }');
  const limits = t.mapping(deployResources.limits, [...at, 'deploy', 'resources', 'limits'], '{ memory: 256m, cpus: "0.5" }');
  const reservations = t.mapping(deployResources.reservations, [...at, 'deploy', 'resources', 'reservations'], '{ memory: 128m }');
  const resources: Raw = {
    ...(limits.cpus !== undefined ? { cpus: Number(limits.cpus) } : {}),
    ...(service.cpus !== undefined ? { cpus: Number(service.cpus) } : {}),
    ...(limits.memory !== undefined ? { memory: limits.memory } : {}),
    ...(service.mem_limit !== undefined ? { memory: service.mem_limit } : {}),
    ...(reservations.memory !== undefined ? { memory_reservation: reservations.memory } : {}),
    ...(service.mem_reservation !== undefined ? { memory_reservation: service.mem_reservation } : {}),
    ...(limits.pids !== undefined ? { pids: limits.pids } : {}),
    ...(service.pids_limit !== undefined ? { pids: service.pids_limit } : {}),
  };
  return Object.keys(resources).length > 0 ? resources : undefined;
}

/** compose's `ipc`/`pid`: host, private, shareable, service:x, container:x. */
function namespaceMode(value: string, placements: Map<string, Placement>): string | undefined {
  if (value === 'host') return 'host';
  if (value === 'private') return 'none';
  if (value === 'shareable' || value === '') return undefined;
  const target = value.startsWith('service:') ? placements.get(value.slice('service:'.length)) : undefined;
  return target ? `container:${target.pod}/${target.container}` : undefined;
}

export function translateCompose(source: ParsedFile, data: Raw, sink: WarningSink): { parsed: ParsedFile; data: Raw } {
  const t = new Translation(source, sink);
  const services = t.mapping(data.services, ['services'], 'services: { web: { image: nginx } }') as Record<string, Raw>;
  for (const [name, service] of Object.entries(services)) {
    if (service === null) throw errorAt(source, ['services', name], `service ${name} is empty`, 'give it image: or build:, e.g. image: nginx', { key: true });
    t.mapping(service, ['services', name], '{ image: nginx }');
  }
  const placements = placeServices(services);
  const pods: Record<string, Raw> = {};
  const volumes: Record<string, Raw> = {};
  const out: Raw = { pods };

  for (const key of Object.keys(data)) {
    if (key === 'name') out.name = data.name;
    else if (key === 'services' || key.startsWith('x-')) continue;
    else if (key === 'volumes') translateTopVolumes(t, t.mapping(data.volumes, ['volumes'], '{ data: {} }'), volumes);
    else if (key === 'secrets' || key === 'configs') {
      out[key] = Object.fromEntries(Object.entries(t.mapping(data[key], [key], '{ token: { file: ./token.txt } }')).flatMap(([name, value]) => {
        const definition = t.mapping(value, [key, name], '{ file: ./token.txt }');
        t.from([key, corralName(name)], [key, name]);
        const kept = Object.fromEntries(Object.entries(definition).filter(([inner]) => ['file', 'environment', 'content'].includes(inner)));
        if (Object.keys(kept).length === 0) {
          t.unsupported([key, name], 'has no file, environment or content (external ones are for swarm), ignored with its uses');
          return [];
        }
        t.unsupportedKeys(definition, ['file', 'environment', 'content'], [key, name]);
        return [[corralName(name), kept]];
      }));
    } else if (key === 'networks') translateNetworks(t, t.mapping(data.networks, ['networks'], '{ default: { ipam: { config: [{ subnet: 10.89.7.0/24 }] } } }'), out);
    else if (key === 'version') t.unsupported([key], 'obsolete, ignored');
    else t.unsupported([key]);
  }

  const placedAs = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    const at = ['services', name];
    const { pod: podName, container: containerName } = placements.get(name)!;
    const pod = (pods[podName] ??= { containers: {} }) as Raw;
    const ownPod = podName === corralName(name);
    if (ownPod) t.from(['pods', podName], at);
    const container: Raw = {};
    if ((pod.containers as Raw)[containerName]) {
      throw errorAt(source, at, `services ${placedAs.get(`${podName}/${containerName}`)} and ${name} would both be container ${podName}/${containerName}`, 'rename one of them: Corral names are lowercase letters, digits, - and _', { key: true });
    }
    placedAs.set(`${podName}/${containerName}`, name);
    (pod.containers as Raw)[containerName] = container;
    const to = ['pods', podName, 'containers', containerName];
    t.from(to, at);
    for (const key of Object.keys(service)) {
      if (key.startsWith('x-')) continue;
      if ((SAME_KEYS as readonly string[]).includes(key)) container[key] = service[key];
      else if (!TRANSLATED_KEYS.includes(key)) t.unsupported([...at, key]);
    }
    for (const kind of ['secrets', 'configs'] as const) {
      if (container[kind] === undefined) continue;
      const defined = (out[kind] ?? {}) as Raw;
      const kept: unknown[] = [];
      t.list(container[kind], [...at, kind], '[token]').forEach((entry, index) => {
        const name = typeof entry === 'string' ? entry : String(t.mapping(entry, [...at, kind, index], '{ source: token }').source);
        if (!defined[corralName(name)]) {
          t.unsupported([...at, kind, index], `${kind.slice(0, -1)} ${name} has no content in this file, ignored`);
          return;
        }
        t.from([...to, kind, kept.length], [...at, kind, index]);
        kept.push(entry);
      });
      container[kind] = kept;
    }
    if (service.environment !== undefined) {
      container.env = service.environment;
      t.from([...to, 'env'], [...at, 'environment']);
    }
    if (typeof container.build === 'object' && container.build !== null) {
      const build = container.build as Raw;
      t.unsupportedKeys(build, ['context', 'dockerfile'], [...at, 'build']);
      container.build = { context: build.context ?? '.', ...(build.dockerfile !== undefined ? { dockerfile: build.dockerfile } : {}) };
    }
    if (container.env_file !== undefined) {
      container.env_file = [container.env_file].flat().map((entry, index) => (typeof entry === 'string' ? entry : t.mapping(entry, [...at, 'env_file', ...(Array.isArray(container.env_file) ? [index] : [])], '{ path: ./app.env }').path));
    }
    const resources = resourcesOf(t, service, at);
    if (resources) {
      container.resources = resources;
      t.from([...to, 'resources'], [...at, ...(service.deploy ? ['deploy', 'resources', 'limits'] : [Object.keys(service).find((key) => ['mem_limit', 'cpus', 'mem_reservation', 'pids_limit'].includes(key))!])]);
    }
    if (service.deploy) t.unsupportedKeys(t.mapping(service.deploy, [...at, 'deploy'], '{ resources: {} }'), ['resources'], [...at, 'deploy']);
    if (container.ports !== undefined) {
      const ports: unknown[] = [];
      t.list(container.ports, [...at, 'ports'], '["8080:80"]').forEach((port, index) => {
        for (const one of expandRange(portOf(t, port, [...at, 'ports', index]))) {
          t.from([...to, 'ports', ports.length], [...at, 'ports', index]);
          ports.push(one);
        }
      });
      container.ports = ports;
    }
    translateServiceVolumes(t, service, at, to, container, volumes);
    translateNamespaces(t, service, at, container, pod, ownPod, placements);
    for (const key of POD_KEYS) {
      if (service[key] === undefined) continue;
      pod[key] = service[key];
      t.from(['pods', podName, key], [...at, key]);
    }
    if (service.depends_on !== undefined) {
      const placed = (dependency: string) => {
        const target = placements.get(dependency);
        return target ? `${target.pod}/${target.container}` : corralName(dependency);
      };
      if (typeof service.depends_on !== 'object' || service.depends_on === null) {
        throw errorAt(source, [...at, 'depends_on'], `depends_on must be a list or a mapping, not ${typeof service.depends_on === 'string' ? 'a string' : String(service.depends_on)}`, 'write [db] or { db: { condition: service_healthy } }');
      }
      container.depends_on = Array.isArray(service.depends_on)
        ? service.depends_on.map((dependency) => placed(String(dependency)))
        : Object.fromEntries(Object.entries(t.mapping(service.depends_on, [...at, 'depends_on'], '{ db: { condition: service_healthy } }')).map(([dependency, options]) => [placed(dependency), options]));
      t.from([...to, 'depends_on'], [...at, 'depends_on']);
    }
    if (service.security_opt !== undefined) {
      for (const [index, entry] of t.list(service.security_opt, [...at, 'security_opt'], '[no-new-privileges:true]').entries()) {
        const option = String(entry);
        if (/^no-new-privileges(:true)?$/.test(option)) container.no_new_privileges = true;
        else if (option === 'no-new-privileges:false') container.no_new_privileges = false;
        else if (/^seccomp[:=]/.test(option)) container.seccomp = option.slice('seccomp:'.length);
        else t.unsupported([...at, 'security_opt', index], `security_opt ${option} is not supported, ignored`);
      }
    }
    if (service.pull_policy !== undefined) {
      const policy = { always: 'always', never: 'never', missing: 'missing', if_not_present: 'missing' }[String(service.pull_policy)];
      if (policy) container.pull_policy = policy;
      else t.unsupported([...at, 'pull_policy'], `pull_policy ${String(service.pull_policy)} is not supported, ignored`);
    }
    const develop = t.mapping(service.develop, [...at, 'develop'], '{ watch: [{ path: ./src, action: sync, target: /app }] }');
    const watch = develop.watch === undefined ? undefined : t.mappings(develop.watch, [...at, 'develop', 'watch'], '{ path: ./src, action: sync, target: /app }');
    if (service.develop !== undefined) t.unsupportedKeys(develop, ['watch'], [...at, 'develop']);
    if (watch) {
      container.watch = watch.map((rule) => ({ ...rule, action: rule.action === 'rebuild' ? 'recreate' : rule.action }));
      t.from([...to, 'watch'], [...at, 'develop', 'watch']);
    }
    if (service.userns_mode !== undefined && service.userns_mode !== 'host') t.unsupported([...at, 'userns_mode'], `userns_mode ${String(service.userns_mode)} is not supported (Corral has userns: auto), ignored`);
    if (service.networks !== undefined) t.unsupported([...at, 'networks'], 'Corral has one network per project, which every pod joins; ignored');
    if (service.expose !== undefined) t.unsupported([...at, 'expose'], 'every port is reachable inside the project network anyway; ignored');
    if (service.container_name !== undefined) t.unsupported([...at, 'container_name'], `the container is ${podName}/${containerName}; ignored`);
  }
  if (Object.keys(volumes).length > 0) out.volumes = volumes;
  return { parsed: t.parsed(out), data: out };
}

/** "8000-8002:9000-9002/udp" -> one mapping per port, as compose publishes a range. */
function expandRange(port: unknown): unknown[] {
  const match = typeof port === 'string' ? /^(.*?)(\d+)-(\d+):(\d+)-(\d+)(\/\w+)?$/.exec(port) : null;
  if (!match) return [port];
  const [, prefix, hostFirst, hostLast, first, last, protocol = ''] = match as unknown as [string, string, string, string, string, string, string?];
  const count = Number(last) - Number(first);
  if (count < 0 || count > 1000 || Number(hostLast) - Number(hostFirst) !== count) return [port];
  return Array.from({ length: count + 1 }, (_, offset) => `${prefix}${Number(hostFirst) + offset}:${Number(first) + offset}${protocol}`);
}

function portOf(t: Translation, port: unknown, at: PathSegment[]): unknown {
  if (typeof port !== 'object' || port === null) return port;
  const long = t.mapping(port, at, '{ target: 80, published: 8080 }');
  t.unsupportedKeys(long, ['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol'], at);
  const published = long.published === undefined ? '' : `${String(long.published)}:`;
  const hostIp = long.host_ip === undefined ? '' : `${String(long.host_ip)}:`;
  return `${hostIp}${published}${String(long.target)}${long.protocol ? `/${String(long.protocol)}` : ''}`;
}

function translateTopVolumes(t: Translation, definitions: Raw, volumes: Record<string, Raw>): void {
  for (const [name, value] of Object.entries(definitions)) {
    const at = ['volumes', name];
    const definition = value === null ? null : t.mapping(value, at, '{ driver_opts: { type: none, o: bind, device: /srv/data } }');
    t.from(['volumes', corralName(name)], at);
    const options = t.mapping(definition?.driver_opts, [...at, 'driver_opts'], '{ type: none, o: bind, device: /srv/data }');
    if (options.type === 'none' && String(options.o ?? '').split(',').includes('bind') && options.device) {
      volumes[corralName(name)] = { type: 'bind', source: options.device };
    } else {
      volumes[corralName(name)] = {};
      if (definition) t.unsupportedKeys(definition, ['name', 'labels'], at);
    }
  }
}

function translateNetworks(t: Translation, networks: Raw, out: Raw): void {
  for (const [name, value] of Object.entries(networks)) {
    const ipam = t.mapping(t.mapping(value, ['networks', name], '{ ipam: { config: [{ subnet: 10.89.7.0/24 }] } }').ipam, ['networks', name, 'ipam'], '{ config: [{ subnet: 10.89.7.0/24 }] }');
    const config = t.mappings(ipam.config, ['networks', name, 'ipam', 'config'], '{ subnet: 10.89.7.0/24 }')[0];
    if (name === 'default' && config?.subnet) {
      out.networks = { default: { subnet: config.subnet } };
      t.from(['networks', 'default', 'subnet'], ['networks', name, 'ipam', 'config', 0, 'subnet']);
    } else {
      t.unsupported(['networks', name], 'Corral has one network per project; only the default network\'s subnet is taken, ignored');
    }
  }
}

/** An anonymous volume becomes a named one of the service's own: `app` and /var/lib/x give app-var-lib-x. */
const anonymousVolumeName = (service: string, target: string) => corralName(`${service}-${target.split('/').filter(Boolean).join('-')}`);

function translateServiceVolumes(t: Translation, service: Raw, at: PathSegment[], to: PathSegment[], container: Raw, volumes: Record<string, Raw>): void {
  const mounts: unknown[] = [];
  t.list(service.volumes, [...at, 'volumes'], '["data:/var/lib/data", "./conf:/etc/app:ro"]').forEach((entry, index) => {
    const from = [...at, 'volumes', index];
    t.from([...to, 'volumes', mounts.length], from);
    if (typeof entry === 'string') {
      const [source, target, options] = entry.split(':');
      if (target === undefined) {
        // An anonymous volume: a named volume of this service's own.
        const name = anonymousVolumeName(String(at[1]), source!);
        volumes[name] = {};
        mounts.push(`${name}:${source}`);
        return;
      }
      const flags = (options ?? '').split(',').filter(Boolean);
      const unknown = flags.filter((flag) => !['ro', 'rw'].includes(flag));
      if (unknown.length > 0) t.unsupported(from, `mount options ${unknown.join(',')} are not supported, ignored`);
      mounts.push(`${isHostPath(source!) ? source : corralName(source!)}:${target}${flags.includes('ro') ? ':ro' : ''}`);
      return;
    }
    const long = t.mapping(entry, from, '{ type: bind, source: ./data, target: /data }');
    t.unsupportedKeys(long, ['type', 'source', 'target', 'read_only', 'bind', 'volume', 'tmpfs', 'consistency'], from);
    const type = String(long.type ?? 'volume');
    if (!['volume', 'bind', 'tmpfs'].includes(type)) {
      t.unsupported(from, `a mount of type ${type} is not supported, ignored`);
      mounts.pop();
      return;
    }
    const bind = t.mapping(long.bind, [...from, 'bind'], '{ create_host_path: true }');
    const volume = t.mapping(long.volume, [...from, 'volume'], '{ subpath: site }');
    t.unsupportedKeys(bind, ['create_host_path'], [...from, 'bind']);
    t.unsupportedKeys(volume, ['subpath', 'nocopy'], [...from, 'volume']);
    if (type === 'volume' && long.source === undefined) {
      const name = anonymousVolumeName(String(at[1]), String(long.target));
      volumes[name] = {};
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
  const tmpfs = service.tmpfs === undefined ? [] : [service.tmpfs].flat().map(String);
  tmpfs.forEach((entry, index) => {
    const [target, options = ''] = entry.split(':');
    const size = /size=([^,]+)/.exec(options)?.[1];
    t.from([...to, 'volumes', mounts.length], [...at, 'tmpfs', ...(Array.isArray(service.tmpfs) ? [index] : [])]);
    mounts.push({ type: 'tmpfs', target, ...(size ? { tmpfs: { size } } : {}) });
  });
  if (mounts.length > 0) container.volumes = mounts;
}

function translateNamespaces(t: Translation, service: Raw, at: PathSegment[], container: Raw, pod: Raw, ownPod: boolean, placements: Map<string, Placement>): void {
  const mode = service.network_mode === undefined ? undefined : String(service.network_mode);
  if (mode === 'host' || mode === 'none') {
    if (ownPod) pod.network = mode;
    else container.network = mode === 'host' ? 'host' : 'none';
  } else if (mode?.startsWith('service:')) {
    if (!placements.has(mode.slice('service:'.length))) t.unsupported([...at, 'network_mode'], `${mode} names no service of this file, ignored`);
  } else if (mode !== undefined && mode !== 'bridge' && mode !== 'default') {
    t.unsupported([...at, 'network_mode'], `network_mode ${mode} is not supported, ignored`);
  }
  for (const key of ['ipc', 'pid'] as const) {
    if (service[key] === undefined) continue;
    const translated = namespaceMode(String(service[key]), placements);
    if (translated === 'host' || translated?.startsWith('container:')) container[key] = translated;
    else if (translated === 'none') {
      // compose's default PID namespace is a private one already.
      if (key === 'ipc') container.ipc = 'none';
    }
    else if (service[key] !== 'shareable') t.unsupported([...at, key], `${key} ${String(service[key])} is not supported, ignored`);
  }
}
