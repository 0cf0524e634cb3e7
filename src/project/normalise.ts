import os from 'node:os';
import path from 'node:path';
import type { Container, ContainerImage, Hook, HostVolume, Lifecycle, Mount, Pod, Project, Security, SharedNamespace, Volume, WatchRule } from './model.js';
import { ALL_CAPABILITIES } from './capabilities.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt, whereAt } from './parse.js';
import { Problems } from './errors.js';
import { checkPodLinks, checkPodNetworks, checkPortsAcrossPods, podNetworkOf, projectNetworksOf, publishedPortsAt } from './network.js';
import { type DependencyRequest, dependencyRequestsOf, lifecycleOf, linkDependencies } from './lifecycle.js';
import { namespaceDependencies, namespacesOf, usernsOf } from './namespaces.js';
import { type ProvidedContents, providedFilesOf } from './provided-files.js';
import { withActiveProfiles } from './profiles.js';
import { checkBindMounts, realOwnDirs } from './bind-policy.js';
import { parseSize, resourcesOf, sizeAt } from './resources.js';
import { closestName } from './validate.js';
import { devicesOf } from './devices.js';
import { type EnvFileEntry, envFilePath } from './dotenv.js';
import { imageBuildOf } from './build.js';
import { keyValuesOf } from './key-values.js';

// Stage 4: validated data -> the frozen desired model: defaults filled in, sizes in bytes, paths
// absolute, mounts resolved against the project's volumes, names sorted; plus the checks a schema
// cannot express (a mount of an undefined volume, two mounts on one target).

const DEFAULT_SHARE: readonly SharedNamespace[] = ['net', 'ipc', 'uts'];
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
type Raw = Record<string, unknown>;

export { parseSize };

function parseMode(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return typeof value === 'number' ? value : Number.parseInt(String(value), 8);
}

/** Splits a command string the way a shell would for words, single and double quotes. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && index + 1 < text.length) current += text[++index];
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && index + 1 < text.length) {
      current += text[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

function argvOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : splitCommand(String(value));
}

// A bare NAME in an env list passes the variable through from the project's environment (the
// process's, then .env), and is left out when that has none, as in compose.
const envOf = (value: unknown, lookupEnv: (name: string) => string | undefined) => keyValuesOf(value, lookupEnv);

/** A host path of the file: `~` and `~/...` are the home directory, as compose reads them; others from baseDir. */
export function hostPathOf(baseDir: string, source: string): string {
  if (source === '~' || source.startsWith('~/')) return path.join(os.homedir(), source.slice(1));
  return path.resolve(baseDir, source);
}
/** Labels become annotations of the OCI spec, where corral.* are Corral's own. */
function labelsOf(value: unknown, at: PathSegment[], parsed: ParsedFile): Record<string, string> {
  const labels = keyValuesOf(value, () => '');
  const reserved = Object.keys(labels).find((key) => key.startsWith('corral.'));
  if (reserved) throw errorAt(parsed, at, `label ${reserved} is reserved: corral.* annotations are Corral's own`, 'use another prefix, e.g. com.example.');
  return labels;
}

function normaliseVolume(name: string, raw: Raw | null, baseDir: string, parsed: ParsedFile): Volume {
  const type = (raw?.type as string | undefined) ?? 'named';
  const hostKey = (['name', 'external'] as const).find((key) => raw?.[key] !== undefined);
  if (type !== 'named' && hostKey !== undefined) {
    throw errorAt(parsed, ['volumes', name, hostKey], `${hostKey} is for named volumes; volume ${name} is a ${type}`, `remove ${hostKey}, or remove type: ${type} to make ${name} a named volume`, { key: true });
  }
  if (type === 'bind') return { name, type, source: path.resolve(baseDir, String(raw?.source)), createHostPath: raw?.create_host_path === true };
  if (type === 'tmpfs') return { name, type, size: raw?.size === undefined ? 0 : sizeAt(parsed, ['volumes', name, 'size'], raw.size), mode: parseMode(raw?.mode, 0o1777) };
  return { name, type: 'named', ...hostVolumeOf(name, raw, parsed) };
}

/**
 * A named volume with a `name:` of its own or `external: true` is the host's (compose's rules): the
 * name is then the volume's on the host, shared with every project that names it, instead of one
 * of this project's own. An external one must exist already; `up` makes the other one when missing.
 */
function hostVolumeOf(name: string, raw: Raw | null, parsed: ParsedFile): { host?: HostVolume } {
  const external = raw?.external === true;
  if (!external && raw?.name === undefined) return {};
  return { host: { name: String(raw?.name ?? name), external, where: whereAt(parsed, ['volumes', name], { key: true }) } };
}

const isHostPath = (source: string) => source.startsWith('.') || source.startsWith('/') || source.startsWith('~');

interface MountContext {
  readonly parsed: ParsedFile;
  readonly volumes: ReadonlyMap<string, Volume>;
  readonly baseDir: string;
  /** Parsed env files by absolute path. */
  readonly envFiles: ReadonlyMap<string, Record<string, string>>;
  /** Names images built for the project. */
  readonly projectName: string;
  readonly provided: ProvidedContents;
  /** Corral's own dirs, which no bind may reach. */
  readonly ownDirs: readonly string[];
  /** CPUs of this host, which a cpus: limit may not exceed; default: the ones this process may use. */
  readonly hostCpus?: number;
  readonly lookupEnv: (name: string) => string | undefined;
}

function mountOf(raw: unknown, at: PathSegment[], context: MountContext): Mount {
  let source: string | undefined;
  let target: string;
  let readOnly = false;
  let kind: string | undefined;
  let tmpfs: Raw | undefined;
  let subpath: string | undefined;
  // compose's short form creates a missing host directory; its long form refuses one unless asked.
  let createHostPath = true;
  if (typeof raw === 'string') {
    const parts = raw.split(':');
    [source, target] = [parts[0]!, parts[1]!];
    readOnly = parts[2] === 'ro';
  } else {
    const long = raw as Raw;
    source = long.source as string | undefined;
    target = String(long.target);
    readOnly = long.read_only === true;
    kind = long.type as string | undefined;
    tmpfs = long.tmpfs as Raw | undefined;
    subpath = long.subpath as string | undefined;
    createHostPath = long.create_host_path === true;
    if (subpath !== undefined && path.posix.normalize(subpath).split('/')[0] === '..') {
      throw errorAt(context.parsed, [...at, 'subpath'], `subpath "${subpath}" leads outside the volume`, 'write a path inside the volume, without leading ..');
    }
    if (subpath !== undefined && kind === 'tmpfs') throw errorAt(context.parsed, [...at, 'subpath'], 'a tmpfs has no subpath', 'remove subpath:, or mount a named volume or a bind');
    if (long.create_host_path !== undefined && (kind === 'tmpfs' || (kind !== 'bind' && !isHostPath(String(long.source ?? ''))))) {
      throw errorAt(context.parsed, [...at, 'create_host_path'], 'create_host_path is for bind mounts only', 'remove it, or use type: bind with a host path as source');
    }
  }
  const extra = { ...(subpath === undefined ? {} : { subpath: path.posix.normalize(subpath) }) };
  if (!target.startsWith('/')) throw errorAt(context.parsed, at, `mount target "${target}" is not an absolute path`, 'write the path inside the container from /, e.g. /data');
  if (kind === 'tmpfs') {
    const owner = { ...(tmpfs?.uid === undefined ? {} : { uid: Number(tmpfs.uid) }), ...(tmpfs?.gid === undefined ? {} : { gid: Number(tmpfs.gid) }) };
    return { type: 'tmpfs', source: '', target, readOnly, size: tmpfs?.size === undefined ? 0 : sizeAt(context.parsed, [...at, 'tmpfs', 'size'], tmpfs.size), mode: parseMode(tmpfs?.mode, 0o1777), ...owner };
  }
  if (!source) throw errorAt(context.parsed, at, `mount of ${target} has no source`, 'name a volume or a host path as source');
  if (kind === 'bind' || isHostPath(source)) {
    return { type: 'bind', source: hostPathOf(context.baseDir, source), target, readOnly, createHostPath, ...extra };
  }
  const volume = context.volumes.get(source);
  if (!volume) {
    const known = [...context.volumes.keys()];
    throw errorAt(context.parsed, at, `volume "${source}" is not defined`, known.length ? `define it under volumes:, or use one of: ${known.join(', ')}` : `define it under volumes: (e.g. volumes: { ${source}: {} })`);
  }
  if (volume.type === 'bind') return { volume: volume.name, type: 'bind', source: volume.source, target, readOnly, createHostPath: volume.createHostPath, ...extra };
  if (volume.type === 'tmpfs') {
    if (subpath !== undefined) throw errorAt(context.parsed, [...at, 'subpath'], `volume ${volume.name} is a tmpfs, which has no subpath`, 'remove subpath:, or use a named volume or a bind');
    return { volume: volume.name, type: 'tmpfs', source: '', target, readOnly, size: volume.size, mode: volume.mode };
  }
  const host = volume.host === undefined ? {} : { host: { name: volume.host.name, external: volume.host.external } };
  return { volume: volume.name, type: 'named', source: '', target, readOnly, ...extra, ...host };
}

/** The pod's /dev/shm: a tmpfs of size 0 would have no limit at all. */
function shmSizeOf(value: unknown, at: PathSegment[], parsed: ParsedFile): number {
  if (value === undefined) return DEFAULT_SHM_SIZE;
  const bytes = sizeAt(parsed, at, value);
  if (bytes === 0) throw errorAt(parsed, at, 'shm_size 0 would leave /dev/shm without a limit', 'give a size, e.g. 64m (the default)');
  return bytes;
}

const capabilityName = (name: string) => (name === 'ALL' || name.startsWith('CAP_') ? name : `CAP_${name}`);

/**
 * Only sysctls the kernel keeps per namespace may be set: a container's own IPC namespace
 * (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*), its pod's network namespace (net.*) and UTS
 * namespace (kernel.hostname, kernel.domainname are the pod's, so not settable here).
 */
export function isNamespacedSysctl(name: string): boolean {
  return /^(kernel\.(shm[a-z_]*|msg[a-z_]*|sem)|fs\.mqueue\..+|net\..+)$/.test(name);
}

function seccompOf(value: unknown, baseDir: string): string {
  if (value === undefined || value === 'default' || value === 'unconfined') return (value as string | undefined) ?? 'default';
  return path.resolve(baseDir, String(value));
}

function securityOf(raw: Raw, at: PathSegment[], parsed: ParsedFile, baseDir: string): Security {
  const sysctls = Object.fromEntries(Object.entries((raw.sysctls ?? {}) as Raw).map(([name, value]) => {
    if (!isNamespacedSysctl(name)) {
      throw errorAt(parsed, [...at, 'sysctls', name], `sysctl ${name} is not namespaced: setting it would change the whole host`, 'only kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.* can be set per container', { key: true });
    }
    return [name, String(value)];
  }));
  /** A ulimit of -1: unlimited, as docker and compose write it. */
  const UNLIMITED = -1;
  const ulimits = Object.fromEntries(Object.entries((raw.ulimits ?? {}) as Raw).map(([name, value]) => {
    const limit = typeof value === 'number' ? { soft: value, hard: value } : (value as { soft: number; hard: number });
    // -1 is unlimited (RLIM_INFINITY), above every number.
    const above = (a: number, b: number) => b !== UNLIMITED && (a === UNLIMITED || a > b);
    if (above(limit.soft, limit.hard)) throw errorAt(parsed, [...at, 'ulimits', name], `ulimit ${name}: soft ${limit.soft} is above hard ${limit.hard}`, 'make soft at most hard');
    if (name === 'nofile' && limit.hard === UNLIMITED) {
      throw errorAt(parsed, [...at, 'ulimits', name], 'ulimit nofile cannot be unlimited: the kernel caps open files at fs.nr_open', 'write a number, e.g. nofile: 1048576', { key: true });
    }
    return [name, { soft: limit.soft, hard: limit.hard }];
  }));
  const capabilities = (key: 'cap_add' | 'cap_drop') => ((raw[key] ?? []) as string[]).map((name, index) => {
    const full = capabilityName(name);
    if (full !== 'ALL' && !ALL_CAPABILITIES.includes(full)) {
      const close = closestName(full, ALL_CAPABILITIES);
      throw errorAt(parsed, [...at, key, index], `unknown capability ${name}`, `${close ? `did you mean ${close.slice('CAP_'.length)}? ` : ''}use a name from capabilities(7), such as NET_ADMIN or SYS_PTRACE, or ALL`);
    }
    return full;
  });
  return {
    privileged: raw.privileged === true,
    capAdd: capabilities('cap_add'),
    capDrop: capabilities('cap_drop'),
    readOnlyRootfs: raw.read_only === true,
    noNewPrivileges: raw.no_new_privileges !== false,
    seccomp: seccompOf(raw.seccomp, baseDir),
    sysctls,
    ulimits,
  };
}

function watchRulesOf(rules: Raw[], at: PathSegment[], context: MountContext, hasBuild: boolean): WatchRule[] {
  return rules.map((rule, index) => {
    const action = rule.action as WatchRule['action'];
    if (action.startsWith('sync') && !rule.target) throw errorAt(context.parsed, [...at, 'watch', index], `watch rule ${action} has no target`, 'add target: the path in the container where the files go', { key: true });
    if (action === 'sync+exec' && !rule.exec) throw errorAt(context.parsed, [...at, 'watch', index], 'watch rule sync+exec has no exec', 'add exec: { command: [...] }', { key: true });
    if (action === 'rebuild' && !hasBuild) throw errorAt(context.parsed, [...at, 'watch', index, 'action'], 'watch rule rebuild on a container without build: there is no image to rebuild', 'add build: to the container, or use recreate or sync+restart');
    return {
      path: path.resolve(context.baseDir, String(rule.path)),
      action,
      ...(rule.target ? { target: String(rule.target) } : {}),
      ...(rule.exec ? { exec: hookOf(rule.exec as Raw, context.lookupEnv) } : {}),
      ignore: [rule.ignore ?? []].flat().map(String),
      ...(rule.include === undefined ? {} : { include: [rule.include].flat().map(String) }),
      initialSync: rule.initial_sync === true,
    };
  });
}

/** A command run in a running container (a hook, a watch rule's exec): its user, privileges, directory and environment. */
function hookOf(hook: Raw, lookupEnv: (name: string) => string | undefined): Hook {
  return {
    argv: argvOf(hook.command),
    ...(hook.user === undefined ? {} : { user: String(hook.user) }),
    privileged: hook.privileged === true,
    ...(hook.working_dir === undefined ? {} : { workdir: String(hook.working_dir) }),
    env: envOf(hook.environment, lookupEnv),
  };
}

/** post_start and pre_stop: each hook's command, user, privileges, directory and environment; absent keys stay absent (the config hash of a container without hooks stays what it was). */
function hooksOf(raw: Raw, lookupEnv: (name: string) => string | undefined): Pick<Lifecycle, 'postStart' | 'preStop'> {
  const hooks = (value: unknown): Hook[] => (value as Raw[]).map((hook) => hookOf(hook, lookupEnv));
  return {
    ...(raw.post_start === undefined ? {} : { postStart: hooks(raw.post_start) }),
    ...(raw.pre_stop === undefined ? {} : { preStop: hooks(raw.pre_stop) }),
  };
}

/** One container as the file writes it, with the pod it is written in. */
interface ContainerSource {
  readonly name: string;
  readonly raw: Raw;
  readonly at: PathSegment[];
  readonly pod: { readonly name: string; readonly raw: Raw; readonly share: readonly SharedNamespace[] };
}

function normaliseContainer(source: ContainerSource, context: MountContext): Container {
  const { name, raw, at } = source;
  const { name: pod, raw: podRaw, share } = source.pod;
  const argv = [...argvOf(raw.entrypoint), ...argvOf(raw.command)];
  if (argv.length === 0 && raw.image === undefined && raw.build === undefined) throw errorAt(context.parsed, at, `container ${pod}/${name} has nothing to run`, 'add command: (and/or entrypoint:), e.g. command: ["sleep", "infinity"]', { key: true });
  const rawMounts = (raw.volumes as unknown[] | undefined) ?? [];
  const mounts = rawMounts.map((mount, index) => mountOf(mount, [...at, 'volumes', index], context));
  const targets = new Map<string, number>();
  mounts.forEach((mount, index) => {
    const earlier = targets.get(mount.target);
    if (earlier !== undefined) throw errorAt(context.parsed, [...at, 'volumes', index], `two mounts on ${mount.target} (also volumes[${earlier}])`, 'give each mount its own target');
    targets.set(mount.target, index);
  });
  const namespaces = namespacesOf({ raw, podRaw, share, at, parsed: context.parsed });
  const security = securityOf(raw, at, context.parsed, context.baseDir);
  checkBindMounts({ mounts, privileged: security.privileged, at: [...at, 'volumes'], parsed: context.parsed, ownDirs: context.ownDirs });
  const netSysctl = Object.keys(security.sysctls).find((sysctl) => sysctl.startsWith('net.'));
  if (netSysctl && namespaces.network.kind === 'host') {
    throw errorAt(context.parsed, [...at, 'sysctls', netSysctl], `sysctl ${netSysctl} would change the host's network: the container uses the host's network namespace`, 'remove the sysctl, or give the container a network namespace of its own', { key: true });
  }
  const written = { raw, at, parsed: context.parsed, contents: context.provided };
  const files = [...providedFilesOf('secrets', written), ...providedFilesOf('configs', written)];
  const mountTargets = new Set(mounts.map((mount) => mount.target));
  files.forEach((file) => {
    if (mountTargets.has(file.target)) throw errorAt(context.parsed, at, `${file.target} is both a mount target and a secret or config`, 'give the secret or config another target', { key: true });
    mountTargets.add(file.target);
  });
  const userns = usernsOf(raw, at, context.parsed);
  const devices = devicesOf(raw.devices, [...at, 'devices'], context.parsed);
  return {
    name,
    pod,
    rootfs: raw.rootfs === undefined ? '' : path.resolve(context.baseDir, String(raw.rootfs)),
    argv,
    // env_file entries in order, then env: later ones win, as in compose.
    env: Object.assign({}, ...[raw.env_file ?? []].flat().map((file) => context.envFiles.get(path.resolve(context.baseDir, envFilePath(file as EnvFileEntry))) ?? {}), envOf(raw.env, context.lookupEnv)),
    // With an image, what the file leaves out comes from the image's config (see images/resolve.ts).
    workdir: (raw.working_dir as string | undefined) ?? (raw.rootfs === undefined ? '' : '/'),
    user: raw.user === undefined ? (raw.rootfs === undefined ? '' : '0:0') : String(raw.user),
    mounts,
    resources: resourcesOf(raw.resources as Raw | undefined, [...at, 'resources'], context),
    security,
    lifecycle: { ...lifecycleOf(raw, podRaw, at, context.parsed), ...hooksOf(raw, context.lookupEnv) },
    ...(raw.watch === undefined ? {} : { watch: watchRulesOf(raw.watch as Raw[], at, context, raw.build !== undefined) }),
    ...(raw.hostname === undefined ? {} : { hostname: String(raw.hostname) }),
    // Only when asked, so that the config hash of every other container stays what it was.
    ...(raw.init === true ? { initProcess: true as const } : {}),
    ...(devices.length > 0 ? { devices } : {}),
    labels: labelsOf(raw.labels, [...at, 'labels'], context.parsed),
    namespaces,
    ...(userns ? { userns } : {}),
    files: files.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)),
    ...(raw.tty === true ? { tty: true } : {}),
    ...(raw.stdin_open === true ? { stdinOpen: true } : {}),
    ...(raw.container_name !== undefined ? { containerName: String(raw.container_name) } : {}),
    ...(raw.rootfs !== undefined ? {} : {
      image: {
        ref: raw.image === undefined ? `corral-build/${context.projectName}/${pod}/${name}` : String(raw.image),
        ...(raw.build === undefined ? {} : { build: imageBuildOf(raw.build, { at: [...at, 'build'], parsed: context.parsed, baseDir: context.baseDir, provided: context.provided, lookupEnv: context.lookupEnv }) }),
        pullPolicy: pullPolicyOf(raw, at, context.parsed),
        ...(raw.entrypoint === undefined ? {} : { entrypoint: argvOf(raw.entrypoint) }),
        ...(raw.command === undefined ? {} : { command: argvOf(raw.command) }),
        fromFile: (['stop_signal', 'healthcheck'] as const).filter((key) => raw[key] !== undefined),
      },
    }),
  };
}

/** pull_policy; `build` only where there is something to build. */
function pullPolicyOf(raw: Raw, at: PathSegment[], parsed: ParsedFile): ContainerImage['pullPolicy'] {
  const policy = (raw.pull_policy as ContainerImage['pullPolicy'] | undefined) ?? 'missing';
  if (policy === 'build' && raw.build === undefined) throw errorAt(parsed, [...at, 'pull_policy'], 'pull_policy build asks to build the image on every up, but the container has no build:', 'add build: (the context directory), or write missing, always or never');
  return policy;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Builds the frozen desired model from validated, interpolated data. */
export interface NormaliseOptions {
  readonly name: string;
  readonly file: string;
  /** Where relative paths are found (`--project-directory`); default: the file's directory. */
  readonly baseDir?: string;
  readonly envFiles?: ReadonlyMap<string, Record<string, string>>;
  /** Contents of the top-level secrets and configs. */
  readonly provided?: ProvidedContents;
  /** Files read besides the project file (secrets, configs), for `watch`. */
  readonly otherSources?: readonly string[];
  /** Active profiles: pods and containers with other profiles are left out. */
  readonly profiles?: readonly string[];
  /** Corral's own dirs where they really lead; default: the defaults and those of the environment. */
  readonly ownDirs?: readonly string[];
  readonly hostCpus?: number;
  /** The project's environment, for env entries without a value; default: the process's. */
  readonly lookupEnv?: (name: string) => string | undefined;
}

const NO_PROVIDED: ProvidedContents = { secrets: new Map(), configs: new Map() };

export function normaliseProject(parsed: ParsedFile, data: Raw, options: NormaliseOptions): Project {
  const baseDir = options.baseDir ?? path.dirname(options.file);
  // Each volume, container and pod is checked on its own and all their problems are reported at once;
  // the checks across pods (namespaces, dependencies, ports) run once every part is sound.
  const problems = new Problems();
  const volumes = Object.entries((data.volumes ?? {}) as Record<string, Raw | null>).flatMap(([name, raw]) => problems.check(() => normaliseVolume(name, raw, baseDir, parsed)) ?? []);
  // A container naming a volume that had a problem would only add "volume is not defined".
  problems.throwIfAny();
  const context: MountContext = { parsed, volumes: new Map(volumes.map((volume) => [volume.name, volume])), baseDir, envFiles: options.envFiles ?? new Map(), projectName: options.name, provided: options.provided ?? NO_PROVIDED, ownDirs: options.ownDirs ?? realOwnDirs(), hostCpus: options.hostCpus, lookupEnv: options.lookupEnv ?? ((name) => process.env[name]) };
  const dependencyRequests = new Map<Container, DependencyRequest[]>();
  const containerAt = new Map<Container, PathSegment[]>();
  const pods: Pod[] = Object.entries(withActiveProfiles(data.pods as Record<string, Raw>, options.profiles ?? [])).flatMap(([name, raw]) => {
    // network: host means the host's network namespace: nothing to pin for net.
    const share = ((raw.share as SharedNamespace[] | undefined) ?? [...DEFAULT_SHARE]).filter((kind) => kind !== 'net' || raw.network !== 'host');
    const pod = { name, raw, share };
    // Init containers run in the order written, each after the previous one completed; the pod's
    // containers wait for the last. They are containers like the others, with restart: no.
    const initEntries = Object.entries((raw.init_containers ?? {}) as Record<string, Raw>);
    const inits = initEntries.flatMap(([initName, container], index) => problems.check(() => {
      const at = ['pods', name, 'init_containers', initName];
      if ((raw.containers as Raw)[initName]) throw errorAt(parsed, at, `pod ${name} has an init container and a container both named ${initName}`, 'give the init container another name', { key: true });
      const normalised = { ...normaliseContainer({ name: initName, raw: container, at, pod }, context), init: true as const };
      containerAt.set(normalised, at);
      (normalised.lifecycle as { restart: unknown }).restart = { name: 'no' };
      const previous = index > 0 ? [{ name: `${name}/${initEntries[index - 1]![0]}`, condition: 'completed' as const, required: true, at, atKey: true }] : [];
      dependencyRequests.set(normalised, [...dependencyRequestsOf(raw.depends_on, ['pods', name, 'depends_on']), ...previous]);
      return normalised;
    }) ?? []);
    const lastInit = initEntries.at(-1)?.[0];
    const afterInits = lastInit ? [{ name: `${name}/${lastInit}`, condition: 'completed' as const, required: true, at: ['pods', name, 'init_containers', lastInit], atKey: true }] : [];
    const containers = Object.entries(raw.containers as Record<string, Raw>).flatMap(([containerName, container]) => problems.check(() => {
      const at = ['pods', name, 'containers', containerName];
      const normalised = normaliseContainer({ name: containerName, raw: container, at, pod }, context);
      containerAt.set(normalised, at);
      dependencyRequests.set(normalised, [
        ...dependencyRequestsOf(raw.depends_on, ['pods', name, 'depends_on']),
        ...dependencyRequestsOf(container.depends_on, [...at, 'depends_on']),
        ...afterInits,
      ]);
      return normalised;
    }) ?? []);
    containers.push(...inits);
    return problems.check(() => ({
      name,
      share,
      shmSize: shmSizeOf(raw.shm_size, ['pods', name, 'shm_size'], parsed),
      hostname: (raw.hostname as string | undefined) ?? name,
      resources: resourcesOf(raw.resources as Raw | undefined, ['pods', name, 'resources'], context),
      network: podNetworkOf(raw, ['pods', name], parsed),
      labels: labelsOf(raw.labels, ['pods', name, 'labels'], parsed),
      containers: containers.sort(byName),
    })) ?? [];
  });
  problems.throwIfAny();
  const fromNamespaces = problems.check(() => namespaceDependencies(pods, containerAt, parsed));
  for (const [container, requests] of fromNamespaces ?? []) {
    dependencyRequests.set(container, [...(dependencyRequests.get(container) ?? []), ...requests]);
  }
  if (fromNamespaces) problems.check(() => linkDependencies(pods, dependencyRequests, parsed));
  problems.check(() => checkPortsAcrossPods(pods, parsed));
  const networks = problems.check(() => projectNetworksOf(data.networks, parsed));
  if (networks) problems.check(() => checkPodNetworks(pods, networks, parsed));
  problems.check(() => checkPodLinks(pods, parsed));
  problems.throwIfAny();
  // Of the pods loaded (those of inactive profiles are left out, unchecked).
  const portsAt = Object.fromEntries(pods.map((pod) => pod.name).flatMap((name) => {
    const at = publishedPortsAt((data.pods as Record<string, Raw>)[name]!, ['pods', name], parsed);
    return at === undefined ? [] : [[name, at]];
  }));
  return deepFreeze({ name: options.name, file: options.file, dir: baseDir, pods: pods.sort(byName), volumes: volumes.sort(byName), networks: networks!,
    ...(Object.keys(portsAt).length > 0 ? { publishedPortsAt: portsAt } : {}),
    sources: [options.file, path.join(baseDir, '.env'), ...(options.envFiles?.keys() ?? []), ...(options.otherSources ?? [])] });
}
