import type { PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import type { Raw, Translation } from './translation.js';

// Every key of the compose specification, and what Corral does with it: carried over (a concern of
// compose.ts takes it, and may still check its values), refused (ignoring it would make the project
// run differently: an error at its line, with how to rewrite it), or warned (ignoring it changes
// nothing in how the project runs: a warning at its line). The rule: a compose project runs
// the same way, or is refused at the exact line with a reason; nothing in between.
//
// Paths are written as the compose schema nests them: `services.*.ports[].mode` is the `mode` of any
// item of the `ports` list of any service. test/import/compose-keys.test.ts walks the compose-spec
// schema and fails on a key that is in none of the three lists; README.md's compose section is
// written from this table (scripts/readme-compose-keys.mjs).

export type KeyFate =
  | { readonly fate: 'carried'; readonly how?: string }
  /** `unless`: the values that are what Corral does anyway (`init: false`), taken as carried. */
  | { readonly fate: 'refused'; readonly reason: string; readonly fix: string; readonly unless?: (value: unknown) => boolean }
  | { readonly fate: 'warned'; readonly reason: string; readonly unless?: (value: unknown) => boolean };

const carried = (how?: string): KeyFate => ({ fate: 'carried', ...(how ? { how } : {}) });
const refused = (reason: string, fix: string, unless?: (value: unknown) => boolean): KeyFate => ({ fate: 'refused', reason, fix, ...(unless ? { unless } : {}) });
const warned = (reason: string, unless?: (value: unknown) => boolean): KeyFate => ({ fate: 'warned', reason, ...(unless ? { unless } : {}) });

/** Values that are Corral's own behaviour, so writing them changes nothing. */
const isFalse = (value: unknown) => value === false;
const isTrue = (value: unknown) => value === true;
const isOne = (value: unknown) => value === 1;
const isAmong = (...values: unknown[]) => (value: unknown) => values.includes(value);
/** The platform of this host as compose writes it (linux/amd64, linux/arm64). */
export const HOST_PLATFORM = `linux/${{ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' }[process.arch as string] ?? process.arch}`;

const NOT_YET = 'not carried over by Corral yet';
const SWARM = 'a swarm setting; docker compose ignores it too when it runs containers on one host';
const WINDOWS = 'a Windows-only setting; Docker ignores it on Linux too';
const NETWORKING = 'not supported by Corral';


export const COMPOSE_KEYS: Readonly<Record<string, KeyFate>> = {
  // Top level.
  version: warned('obsolete (compose ignores it too)'),
  name: carried('the project name, normalised as compose does'),
  include: carried('each included project is loaded and merged (src/load/include.ts)'),
  'include[].path': carried(),
  'include[].env_file': carried(),
  'include[].project_directory': carried(),
  services: carried(),
  models: refused('AI models (Docker Model Runner) have no equivalent in Corral', 'remove models: and the services\' models:, and run the model server as a service'),

  // A service.
  'services.*.annotations': warned('OCI annotations are metadata for runtimes and tools; Corral does not set them'),
  'services.*.attach': warned('corral up does not attach to the containers\' output; corral logs shows it'),
  'services.*.blkio_config': refused('Corral sets no block-IO weights or limits', 'remove blkio_config, or run this service with docker compose'),
  'services.*.build': carried('built with buildah before up'),
  'services.*.build.context': carried(),
  'services.*.build.dockerfile': carried(),
  'services.*.build.dockerfile_inline': carried('written to a file of the build\'s own, outside the context (not with dockerfile:, as compose refuses both)'),
  'services.*.build.entitlements': refused('build entitlements are not granted by Corral\'s builds', 'remove entitlements and what needs them from the Dockerfile'),
  'services.*.build.args': carried('buildah --build-arg; an arg without a value takes the environment\'s, and is left out when it has none'),
  'services.*.build.ssh': refused('SSH agent forwarding into builds is not supported', 'fetch what needs SSH before the build, into the context'),
  'services.*.build.labels': carried('buildah --label: labels of the built image'),
  'services.*.build.cache_from': warned('a build cache only makes builds faster; buildah\'s own layer cache is used'),
  'services.*.build.cache_to': warned('a build cache only makes builds faster; nothing is exported'),
  'services.*.build.no_cache': carried('buildah --no-cache'),
  'services.*.build.additional_contexts': refused(`additional build contexts are ${NOT_YET}`, 'copy what they hold into the build context'),
  'services.*.build.network': refused(`the build's network mode is ${NOT_YET}`, 'remove network: if the build needs no special network'),
  'services.*.build.provenance': warned('provenance attestations are metadata; none is made'),
  'services.*.build.sbom': warned('SBOM attestations are metadata; none is made'),
  'services.*.build.pull': carried('buildah --pull=always: the base images are pulled again'),
  'services.*.build.target': carried('buildah --target: the stage to build'),
  'services.*.build.shm_size': refused(`the build's /dev/shm size is ${NOT_YET}`, 'remove shm_size from build: if the build does not need it'),
  'services.*.build.extra_hosts': refused(`extra hosts during the build are ${NOT_YET}`, 'use addresses instead of names in the Dockerfile, or remove extra_hosts from build:'),
  'services.*.build.isolation': warned(WINDOWS),
  'services.*.build.privileged': refused(`privileged builds are ${NOT_YET}`, 'remove privileged from build: and what needs it from the Dockerfile'),
  'services.*.build.secrets': carried('buildah --secret from the top-level secret\'s content, read by RUN --mount=type=secret,id=NAME and not kept in the image'),
  'services.*.build.secrets[].source': carried(),
  'services.*.build.secrets[].target': carried('the id the Dockerfile mounts the secret by'),
  'services.*.build.secrets[].uid': refused('the owner of a build secret is set by the Dockerfile', 'write uid= on the RUN --mount=type=secret line of the Dockerfile'),
  'services.*.build.secrets[].gid': refused('the group of a build secret is set by the Dockerfile', 'write gid= on the RUN --mount=type=secret line of the Dockerfile'),
  'services.*.build.secrets[].mode': refused('the mode of a build secret is set by the Dockerfile', 'write mode= on the RUN --mount=type=secret line of the Dockerfile'),
  'services.*.build.tags': warned('extra tags name the same image; Corral names it after the service (or image:)'),
  'services.*.build.ulimits': refused(`the build's ulimits are ${NOT_YET}`, 'remove ulimits from build:'),
  'services.*.build.platforms': refused('multi-platform builds are not supported; Corral builds for this host', 'remove platforms'),
  'services.*.cap_add': carried(),
  'services.*.cap_drop': carried(),
  'services.*.cgroup': refused('Corral does not choose the container\'s cgroup namespace', 'remove cgroup:'),
  'services.*.cgroup_parent': refused('Corral places every container in its own cgroup tree', 'remove cgroup_parent'),
  'services.*.command': carried(),
  'services.*.configs': carried('files with the configs\' content, mounted read-only'),
  'services.*.configs[].source': carried(),
  'services.*.configs[].target': carried(),
  'services.*.configs[].uid': carried(),
  'services.*.configs[].gid': carried(),
  'services.*.configs[].mode': carried(),
  'services.*.container_name': carried('a name of the service on each of its networks, and the name `corral ps` shows beside POD/CONTAINER'),
  'services.*.cpu_count': warned(WINDOWS),
  'services.*.cpu_percent': warned(WINDOWS),
  'services.*.cpu_shares': refused('Corral sets no CPU weight', 'remove cpu_shares, or use cpus: for a limit'),
  'services.*.cpu_quota': refused('Corral sets CPU limits as a number of CPUs', 'write cpus: (quota / period, e.g. 0.5) instead'),
  'services.*.cpu_period': refused('Corral sets CPU limits as a number of CPUs', 'write cpus: (quota / period, e.g. 0.5) instead'),
  'services.*.cpu_rt_period': refused('Corral gives containers no real-time CPU time', 'remove cpu_rt_period'),
  'services.*.cpu_rt_runtime': refused('Corral gives containers no real-time CPU time', 'remove cpu_rt_runtime'),
  'services.*.cpus': carried(),
  'services.*.cpuset': refused('Corral does not pin containers to CPUs', 'remove cpuset, or use cpus: for a limit'),
  'services.*.credential_spec': warned(WINDOWS),
  'services.*.depends_on': carried(),
  'services.*.depends_on.*.condition': carried(),
  'services.*.depends_on.*.required': carried(),
  'services.*.depends_on.*.restart': warned('Corral never restarts a dependent because its dependency was recreated; the project runs the same', isFalse),
  'services.*.develop': carried('the rules of corral watch'),
  'services.*.develop.watch': carried(),
  'services.*.develop.watch[].path': carried(),
  'services.*.develop.watch[].action': carried('sync, sync+restart, sync+exec and restart as they are; rebuild builds the image again and recreates the container, on a service with build: only'),
  'services.*.develop.watch[].target': carried(),
  'services.*.develop.watch[].ignore': carried('one pattern or a list, with .gitignore and .dockerignore under path'),
  'services.*.develop.watch[].include': carried('one pattern or a list: only the files they match count, minus what ignore keeps out'),
  'services.*.develop.watch[].exec': carried(),
  'services.*.develop.watch[].exec.command': carried(),
  'services.*.develop.watch[].exec.user': carried('resolved in the container as exec --user would'),
  'services.*.develop.watch[].exec.privileged': carried('every capability, as exec --privileged'),
  'services.*.develop.watch[].exec.working_dir': carried(),
  'services.*.develop.watch[].exec.environment': carried(`a mapping or a list, as the service's environment:`),
  'services.*.develop.watch[].initial_sync': carried(),
  'services.*.deploy': carried(),
  'services.*.deploy.mode': warned('Corral runs on one host, where a global service is one container, as a replicated one is'),
  'services.*.deploy.endpoint_mode': warned(SWARM),
  'services.*.deploy.replicas': carried('a pod per replica, NAME-1..NAME-N'),
  'services.*.deploy.labels': warned('labels of the swarm service, not of its containers; docker compose does not put them on containers either'),
  'services.*.deploy.rollback_config': warned(SWARM),
  'services.*.deploy.update_config': warned(SWARM),
  'services.*.deploy.resources': carried(),
  'services.*.deploy.resources.limits': carried(),
  'services.*.deploy.resources.limits.cpus': carried(),
  'services.*.deploy.resources.limits.memory': carried(),
  'services.*.deploy.resources.limits.pids': carried(),
  'services.*.deploy.resources.reservations': carried(),
  'services.*.deploy.resources.reservations.cpus': refused(`CPU reservations are ${NOT_YET}`, 'remove reservations.cpus, or set limits.cpus'),
  'services.*.deploy.resources.reservations.memory': carried('the soft memory limit'),
  'services.*.deploy.resources.reservations.generic_resources': refused('generic resources are swarm node resources; Corral has none to give', 'remove generic_resources'),
  'services.*.deploy.resources.reservations.devices': carried('taken by the GPU check (import/gpus.ts): a GPU is refused at its line, saying whether this host has one and which device node to map instead'),
  'services.*.deploy.resources.reservations.devices[].capabilities': carried(),
  'services.*.deploy.resources.reservations.devices[].count': carried(),
  'services.*.deploy.resources.reservations.devices[].device_ids': carried(),
  'services.*.deploy.resources.reservations.devices[].driver': carried(),
  'services.*.deploy.resources.reservations.devices[].options': carried(),
  'services.*.deploy.restart_policy': refused(`deploy.restart_policy is ${NOT_YET}`, 'write restart: at the service instead (no, always, on-failure, unless-stopped)'),
  'services.*.deploy.placement': warned(SWARM),
  'services.*.device_cgroup_rules': refused('Corral adds no device cgroup rules', 'remove device_cgroup_rules'),
  'services.*.devices': carried('host device nodes, allowed by the device cgroup'),
  'services.*.devices[].source': carried(),
  'services.*.devices[].target': carried(),
  'services.*.devices[].permissions': carried(),
  'services.*.dns': carried(),
  'services.*.dns_opt': refused('Corral writes resolv.conf with nameservers and search domains only', 'remove dns_opt'),
  'services.*.dns_search': carried(),
  'services.*.domainname': refused('Corral sets no domain name in the container', 'remove domainname, or write a full hostname'),
  'services.*.entrypoint': carried(),
  'services.*.env_file': carried(),
  'services.*.env_file[].path': carried(),
  'services.*.env_file[].format': refused('env files are read as dotenv files; another format is not supported', 'remove format', isAmong('dotenv')),
  'services.*.env_file[].required': carried('false: a missing file is skipped, as compose does'),
  'services.*.label_file': refused(`label files are ${NOT_YET}`, 'write the labels under labels:'),
  'services.*.environment': carried(),
  'services.*.expose': warned('every port is reachable inside the project network anyway'),
  'services.*.extends': carried('merged as compose does (src/load/extends.ts)'),
  'services.*.extends.service': carried(),
  'services.*.extends.file': carried(),
  'services.*.provider': refused('services run by an external provider are not supported', 'run what the provider makes as a service of its own'),
  'services.*.external_links': refused('containers outside the project cannot be linked', 'put the other containers in this project, or reach them by address'),
  'services.*.extra_hosts': carried(),
  'services.*.gpus': carried('taken by the GPU check (import/gpus.ts): a GPU is refused at its line, saying whether this host has one and which device node to map instead'),
  'services.*.gpus[].capabilities': carried(),
  'services.*.gpus[].count': carried(),
  'services.*.gpus[].device_ids': carried(),
  'services.*.gpus[].driver': carried(),
  'services.*.gpus[].options': carried(),
  'services.*.group_add': refused(`supplementary groups are ${NOT_YET}`, 'add the user to the group in the image'),
  'services.*.healthcheck': carried(),
  'services.*.healthcheck.disable': carried(),
  'services.*.healthcheck.interval': carried(),
  'services.*.healthcheck.retries': carried(),
  'services.*.healthcheck.test': carried(),
  'services.*.healthcheck.timeout': carried(),
  'services.*.healthcheck.start_period': carried(),
  'services.*.healthcheck.start_interval': carried(),
  'services.*.hostname': carried(),
  'services.*.image': carried(),
  'services.*.init': carried('the host\'s catatonit as PID 1'),
  'services.*.ipc': carried('host, private, shareable and service:NAME'),
  'services.*.isolation': warned(WINDOWS),
  'services.*.labels': carried(),
  'services.*.links': carried('SERVICE:ALIAS names SERVICE as ALIAS in the linking service\'s view'),
  'services.*.logging': warned('Corral keeps each container\'s output itself (corral logs); the logging driver and its options are not used'),
  'services.*.mac_address': carried('the MAC address of its first network\'s interface'),
  'services.*.mem_limit': carried(),
  'services.*.mem_reservation': carried(),
  'services.*.mem_swappiness': refused('Corral does not set swappiness', 'remove mem_swappiness'),
  'services.*.memswap_limit': refused('Corral does not set a swap limit', 'remove memswap_limit'),
  'services.*.network_mode': carried('host, none, bridge and service:NAME; another mode is refused at its line'),
  'services.*.models': refused('AI models (Docker Model Runner) have no equivalent in Corral', 'remove models: and pass the model server\'s address in environment:'),
  'services.*.networks': carried(),
  'services.*.networks.*.aliases': carried(),
  'services.*.networks.*.ipv4_address': carried(),
  'services.*.networks.*.ipv6_address': refused('Corral\'s networks have no IPv6', 'remove ipv6_address'),
  'services.*.networks.*.interface_name': carried(),
  'services.*.networks.*.link_local_ips': warned(NETWORKING),
  'services.*.networks.*.mac_address': carried(),
  'services.*.networks.*.driver_opts': warned(NETWORKING),
  'services.*.networks.*.priority': carried('the order of the interfaces'),
  'services.*.networks.*.gw_priority': warned(NETWORKING),
  'services.*.oom_kill_disable': refused('Corral does not disable the OOM killer', 'remove oom_kill_disable', isFalse),
  'services.*.oom_score_adj': refused('Corral does not adjust OOM scores', 'remove oom_score_adj'),
  'services.*.pid': carried('host and service:NAME'),
  'services.*.pids_limit': carried(),
  'services.*.platform': refused(`Corral runs images of this host's platform (${HOST_PLATFORM}) only`, `remove platform, or write ${HOST_PLATFORM}`, isAmong(HOST_PLATFORM)),
  'services.*.ports': carried('every short and long form, one mapping per port of a range; IPv6 host addresses, SCTP and a range of host ports for one container port are refused'),
  'services.*.ports[].name': warned('a port\'s name is a label for tools'),
  'services.*.ports[].mode': carried('host and ingress both publish the port on this host (there is no swarm routing mesh)'),
  'services.*.ports[].host_ip': carried(),
  'services.*.ports[].target': carried(),
  'services.*.ports[].published': carried(),
  'services.*.ports[].protocol': carried(),
  'services.*.ports[].app_protocol': warned('a port\'s application protocol is a label for tools'),
  'services.*.post_start': carried('run in the container after each start'),
  'services.*.post_start[].command': carried(),
  'services.*.post_start[].user': carried(),
  'services.*.post_start[].privileged': carried(),
  'services.*.post_start[].working_dir': carried(),
  'services.*.post_start[].environment': carried(),
  'services.*.pre_stop': carried('run in the container before the stop signal'),
  'services.*.pre_stop[].command': carried(),
  'services.*.pre_stop[].user': carried(),
  'services.*.pre_stop[].privileged': carried(),
  'services.*.pre_stop[].working_dir': carried(),
  'services.*.pre_stop[].environment': carried(),
  'services.*.privileged': carried(),
  'services.*.profiles': carried(),
  'services.*.pull_policy': carried('always, never, missing, if_not_present, build; daily, weekly, every_N and refresh are refused'),
  'services.*.pull_refresh_after': warned('refresh policies are not supported; the pull_policy decides'),
  'services.*.read_only': carried(),
  'services.*.restart': carried(),
  'services.*.runtime': refused('Corral runs every container with runc', 'remove runtime', isAmong('runc')),
  'services.*.scale': carried('a pod per replica, NAME-1..NAME-N'),
  'services.*.security_opt': carried('no-new-privileges and seccomp; label:disable and apparmor:unconfined are Corral\'s own behaviour; other options are refused'),
  'services.*.shm_size': carried(),
  'services.*.secrets': carried('files with the secrets\' content, mounted read-only'),
  'services.*.secrets[].source': carried(),
  'services.*.secrets[].target': carried(),
  'services.*.secrets[].uid': carried(),
  'services.*.secrets[].gid': carried(),
  'services.*.secrets[].mode': carried(),
  'services.*.sysctls': carried(),
  'services.*.stdin_open': carried('conmon keeps its stdin open for corral attach'),
  'services.*.stop_grace_period': carried(),
  'services.*.stop_signal': carried(),
  'services.*.storage_opt': refused('Corral does not limit the size of a container\'s writable layer', 'remove storage_opt'),
  'services.*.tmpfs': carried('size and mode options'),
  'services.*.tty': carried('a terminal held by conmon, reached by corral attach'),
  'services.*.ulimits': carried(),
  'services.*.ulimits.*.hard': carried(),
  'services.*.ulimits.*.soft': carried(),
  'services.*.use_api_socket': refused('Corral has no Docker API socket to give', 'remove use_api_socket', isFalse),
  'services.*.user': carried(),
  'services.*.uts': refused('every pod has its own UTS namespace in Corral', 'remove uts'),
  'services.*.userns_mode': carried('host (Corral\'s own behaviour for a compose service); other modes are refused'),
  'services.*.volumes': carried(),
  'services.*.volumes[].type': carried('volume, bind and tmpfs'),
  'services.*.volumes[].source': carried(),
  'services.*.volumes[].target': carried(),
  'services.*.volumes[].read_only': carried(),
  'services.*.volumes[].consistency': warned('a macOS setting; no effect on Linux'),
  'services.*.volumes[].bind': carried(),
  'services.*.volumes[].bind.propagation': refused('Corral mounts binds with private propagation', 'remove propagation', isAmong('private', 'rprivate')),
  'services.*.volumes[].bind.create_host_path': carried(),
  'services.*.volumes[].bind.recursive': refused('Corral bind mounts are recursive, as compose\'s default', 'remove recursive', isAmong('enabled')),
  'services.*.volumes[].bind.selinux': refused('Corral does not relabel bind mounts for SELinux', 'relabel the directory yourself (chcon -t container_file_t) and remove selinux'),
  'services.*.volumes[].volume': carried(),
  'services.*.volumes[].volume.labels': warned('volume labels are metadata; Corral does not keep them'),
  'services.*.volumes[].volume.nocopy': refused('Corral never copies the image\'s files into a new volume, as nocopy: true says', 'write nocopy: true, or copy the files in at start', isTrue),
  'services.*.volumes[].volume.subpath': carried(),
  'services.*.volumes[].tmpfs': carried(),
  'services.*.volumes[].tmpfs.size': carried(),
  'services.*.volumes[].tmpfs.mode': carried(),
  'services.*.volumes[].image': refused('image mounts are not supported', 'copy the files into a volume, or build them into the image'),
  'services.*.volumes_from': refused('Corral does not mount another container\'s volumes', 'name the same volumes in both services'),
  'services.*.working_dir': carried(),

  // Top-level networks.
  networks: carried(),
  'networks.*.name': carried('for an external network, the host network it means; a project\'s own network is named after the project and its key (no container sees the name)'),
  'networks.*.driver': carried('bridge; another driver is warned and a bridge made'),
  'networks.*.driver_opts': warned(NETWORKING),
  'networks.*.ipam': carried(),
  'networks.*.ipam.driver': warned(NETWORKING),
  'networks.*.ipam.config': carried('the first subnet'),
  'networks.*.ipam.config[].subnet': carried(),
  'networks.*.ipam.config[].ip_range': warned(NETWORKING),
  'networks.*.ipam.config[].gateway': warned(NETWORKING),
  'networks.*.ipam.config[].aux_addresses': warned(NETWORKING),
  'networks.*.ipam.options': warned(NETWORKING),
  'networks.*.external': carried('a host network made by corral network create, shared between projects'),
  'networks.*.external.name': carried(),
  'networks.*.internal': carried(),
  'networks.*.enable_ipv4': warned(NETWORKING),
  'networks.*.enable_ipv6': warned(NETWORKING),
  'networks.*.attachable': warned(NETWORKING),
  'networks.*.labels': warned('network labels are metadata; Corral does not keep them'),

  // Top-level volumes.
  volumes: carried(),
  'volumes.*.name': carried('the volume is the host\'s under that name, shared with every project that names it: made by up when missing, removed by down -v unless another project\'s container uses it'),
  'volumes.*.driver': refused('Corral keeps volumes as directories on this host (the local driver)', 'remove driver', isAmong('local')),
  'volumes.*.driver_opts': carried('type: none, o: bind, device: DIR as a bind volume; other options are refused'),
  'volumes.*.external': carried('a host volume made before (corral volume create, or another project\'s name:): up refuses at this line when it is missing, never makes an empty one; down -v leaves it'),
  'volumes.*.external.name': carried('the old form of name: for an external volume, as compose-go still reads it'),
  'volumes.*.labels': warned('volume labels are metadata; Corral does not keep them'),

  // Top-level secrets and configs.
  secrets: carried(),
  'secrets.*.name': warned('the name a secret has in a swarm; Corral names it after its key'),
  'secrets.*.environment': carried(),
  'secrets.*.file': carried(),
  'secrets.*.content': carried('beyond the specification (which has content for configs only), as Corral took it before'),
  'secrets.*.external': refused('external secrets live in a swarm, which Corral does not use', 'give the secret a file: or environment:', isFalse),
  'secrets.*.external.name': refused('external secrets live in a swarm, which Corral does not use', 'give the secret a file: or environment:'),
  'secrets.*.labels': warned('secret labels are metadata; Corral does not keep them'),
  'secrets.*.driver': refused('secret drivers are swarm plugins; Corral reads secrets from files and the environment', 'give the secret a file: or environment:'),
  'secrets.*.driver_opts': refused('secret drivers are swarm plugins; Corral reads secrets from files and the environment', 'give the secret a file: or environment:'),
  'secrets.*.template_driver': refused('templated secrets are not supported', 'write the secret\'s final content to its file'),
  configs: carried(),
  'configs.*.name': warned('the name a config has in a swarm; Corral names it after its key'),
  'configs.*.content': carried(),
  'configs.*.environment': carried(),
  'configs.*.file': carried(),
  'configs.*.external': refused('external configs live in a swarm, which Corral does not use', 'give the config a file:, environment: or content:', isFalse),
  'configs.*.external.name': refused('external configs live in a swarm, which Corral does not use', 'give the config a file:, environment: or content:'),
  'configs.*.labels': warned('config labels are metadata; Corral does not keep them'),
  'configs.*.template_driver': refused('templated configs are not supported', 'write the config\'s final content, or use content:'),
};

/** Keys Corral takes that the compose specification does not have. */
export const BEYOND_THE_SPEC: readonly string[] = ['secrets.*.content'];

/** The patterns under `pattern` (its keys, `pattern.*` names or `pattern[]` items), computed once. */
const PARENTS = new Set(Object.keys(COMPOSE_KEYS).flatMap((key) => {
  const parents: string[] = [];
  for (let index = 0; index < key.length; index++) {
    if (key[index] === '.' || key[index] === '[') parents.push(key.slice(0, index));
  }
  return parents;
}));

const join = (pattern: string, key: string) => (pattern ? `${pattern}.${key}` : key);
const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Walks a compose document (merged, interpolated) and applies the table: a refused key throws at its
 * line, a warned key is reported once, a key the specification does not have is refused (compose
 * refuses it too). Extension keys (`x-`) pass.
 */
export function checkComposeKeys(t: Translation, data: Raw): void {
  const visit = (value: unknown, pattern: string, at: PathSegment[]) => {
    if (Array.isArray(value)) {
      if (PARENTS.has(`${pattern}[]`)) value.forEach((item, index) => visit(item, `${pattern}[]`, [...at, index]));
      return;
    }
    if (!isMapping(value)) return;
    const named = Object.keys(COMPOSE_KEYS).some((key) => key.startsWith(`${join(pattern, '*')}.`));
    // A mapping where the schema wants a list (volumes: { a: b }) is the concern's to refuse, with its type.
    if (pattern && !Object.keys(COMPOSE_KEYS).some((key) => key.startsWith(`${pattern}.`))) return;
    for (const [key, inner] of Object.entries(value)) {
      const path = [...at, key];
      if (named) {
        visit(inner, join(pattern, '*'), path);
        continue;
      }
      if (key.startsWith('x-')) continue;
      const keyPattern = join(pattern, key);
      const fate = COMPOSE_KEYS[keyPattern];
      if (fate === undefined) {
        throw errorAt(t.source, path, `${String(key)} is not a key of the compose specification`, 'check its spelling and its indentation, as compose would refuse it too; extensions start with x-', { key: true });
      }
      if (fate.fate === 'refused' && !fate.unless?.(inner)) {
        throw errorAt(t.source, path, fate.reason, fate.fix, { key: true });
      }
      if (fate.fate === 'warned' && !fate.unless?.(inner)) {
        t.unsupported(path, `${fate.reason}; ignored`);
        continue;
      }
      if (PARENTS.has(keyPattern)) visit(inner, keyPattern, path);
    }
  };
  visit(data, '', []);
}
