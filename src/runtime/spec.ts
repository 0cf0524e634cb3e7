import { randomUUID } from 'node:crypto';
import type { Container, IdMapping, Resources, SharedNamespace } from '../project/model.js';
import { effectiveCapabilities } from '../project/capabilities.js';
import type { ResolvedUser } from './users.js';
import { seccompForContainer, type DockerSeccompProfile } from './seccomp.js';
import type { ResolvedDevice } from './devices.js';

// The OCI runtime spec (config.json) for one container. Pure: everything it needs comes in as input,
// so tests can read the spec a container would get without starting anything.

export { DEFAULT_CAPABILITIES } from '../project/capabilities.js';

/** Kernel paths a container must not read (masked with /dev/null or an empty tmpfs by the runtime). */
export const MASKED_PATHS = Object.freeze([
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
  '/sys/devices/virtual/powercap', '/sys/firmware',
]);

/** Kernel paths a container may read but not write. */
export const READONLY_PATHS = Object.freeze(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);

/** Where a container that says it is ready through sd_notify finds its socket (as podman's --sdnotify=container). */
export const NOTIFY_MOUNT = '/run/notify';

/** The annotation of a container whose stdin conmon keeps open (`stdin_open`). */
export const STDIN_OPEN_ANNOTATION = 'corral.stdin-open';
/** The annotation of a container with an sd_notify socket (its keeper must run before it starts). */
export const NOTIFY_ANNOTATION = 'corral.notify';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Open files per process unless the host allows fewer: asking above the hard limit makes runc fail. */
const WANTED_NOFILE = 1048576;

/** The CFS period `cpus` is expressed against: 100 ms, as docker and the kubelet use. */
export const CPU_PERIOD_US = 100_000;

/** Where the host's init binary is mounted in a container that asks for one (podman uses /run/podman-init). */
export const INIT_PATH = '/run/corral-init';

/** The annotation that carries a container's post_start and pre_stop hooks (hooks.ts reads it). */
export const HOOKS_ANNOTATION = 'corral.hooks';

/** A mount as the runtime wants it, after volumes were resolved to host paths. */
export interface ResolvedMount {
  readonly type: 'bind' | 'tmpfs';
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly size?: number;
  readonly mode?: number;
  /** tmpfs: owner of its root, in the container's ids. */
  readonly uid?: number;
  readonly gid?: number;
}

export interface SpecInput {
  readonly container: Container;
  readonly project: string;
  /** Config hash, stored as an annotation so that later runs can tell whether the container is current. */
  readonly hash: string;
  readonly user: ResolvedUser;
  readonly hostname: string;
  /** Absolute path of the container's root (the overlay's merged dir). */
  readonly rootfs: string;
  /** Namespaces to join by path (the pod's pins, another container's /proc/PID/ns/*), by type; types not listed get a fresh namespace. */
  readonly joinNamespaces: Partial<Record<SharedNamespace, string>>;
  /** Types for which the container stays in the host's namespace (network: host, pid: host). */
  readonly hostNamespaces?: readonly SharedNamespace[];
  /** A user namespace with these id maps; none: the host's. */
  readonly userns?: { readonly uidMappings: readonly IdMapping[]; readonly gidMappings: readonly IdMapping[] };
  /** The pod's labels, recorded as annotations under the container's own. */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** Host files the pod shares among its containers (hostname: the container's own when it has one). */
  readonly podFiles: { readonly hosts: string; readonly hostname: string; readonly resolvConf: string; readonly shm: string };
  /** The dir of its sd_notify socket (healthcheck notify: true), mounted at /run/notify. */
  readonly notifyDir?: string;
  readonly mounts: readonly ResolvedMount[];
  /** cgroup path relative to the hierarchy roots, e.g. /corral/hello/web/server. */
  readonly cgroupsPath: string;
  /** The host's cgroup hierarchy: 2 when /sys/fs/cgroup is cgroup2, 1 for legacy and hybrid mounts. */
  readonly cgroupVersion: 1 | 2;
  /**
   * For bind sources (host paths of the pod files and the mounts), the flags of the host mount each
   * lives on that its bind must keep (locked-flags.ts); a source not listed keeps none.
   */
  readonly bindSourceFlags?: Readonly<Record<string, readonly string[]>>;
  /** The host's hard RLIMIT_NOFILE. */
  readonly nofileHardLimit: number;
  /** The host's hard limits by ulimit name (-1: unlimited): above them only with CAP_SYS_RESOURCE. */
  readonly hardLimits?: Readonly<Record<string, number>>;
  /** Capabilities the host can give; others are left out (default: all). */
  readonly boundingCapabilities?: readonly string[];
  /** The seccomp profile to filter syscalls with; none where the host has no profile. */
  readonly seccompProfile?: DockerSeccompProfile;
  /** Host path of catatonit, for a container with `initProcess`. */
  readonly initBinary?: string;
  /** The container's `devices`, as found on the host. */
  readonly devices?: readonly ResolvedDevice[];
}

const OCI_NAMESPACE_TYPE: Record<SharedNamespace, string> = { net: 'network', ipc: 'ipc', uts: 'uts', pid: 'pid' };

/**
 * A cgroup namespace of its own on cgroup v2, as docker and podman give by default there: the
 * container sees its own cgroup as / (in /proc/self/cgroup and at /sys/fs/cgroup, where runc mounts
 * cgroup2 rooted at it) and reads its own memory.max, instead of the host's whole tree. On v1
 * (and hybrid) hosts the host's, as docker keeps it there: runc binds the container's own dir of
 * each hierarchy at /sys/fs/cgroup/CONTROLLER, so its limits are already where it looks.
 */
const wantsCgroupNamespace = (input: SpecInput) => input.cgroupVersion === 2;

function namespacesFor(input: SpecInput) {
  const host = input.hostNamespaces ?? [];
  const [pid, ...shared] = (['pid', 'net', 'ipc', 'uts'] as const).filter((kind) => !host.includes(kind)).map((kind) => {
    const path = input.joinNamespaces[kind];
    return path ? { type: OCI_NAMESPACE_TYPE[kind], path } : { type: OCI_NAMESPACE_TYPE[kind] };
  });
  const first = pid?.type === 'pid' ? [pid, { type: 'mount' }] : [{ type: 'mount' }, ...(pid ? [pid] : [])];
  return [...first, ...shared, ...(wantsCgroupNamespace(input) ? [{ type: 'cgroup' }] : []), ...(input.userns ? [{ type: 'user' }] : [])];
}

const ociMappings = (mappings: readonly IdMapping[]) => mappings.map((mapping) => ({ containerID: mapping.containerId, hostID: mapping.hostId, size: mapping.size }));

/** What a user-namespaced container may not mount itself: namespaces it joins belong to the host's user namespace. */
interface ForeignNamespaces {
  /** Its IPC namespace: no mqueue mount. */
  readonly ipc: boolean;
  /** Its network namespace: sysfs cannot be mounted, the host's /sys is bound read-only instead (as podman does). */
  readonly net: boolean;
}

/**
 * A bind's OCI options with the locked flags of its source's mount added: ro wins over rw, as the
 * kernel keeps a bind of a read-only mount read-only whatever is asked.
 */
function bindOptions(options: readonly string[], sourceFlags: readonly string[] = []): string[] {
  const readOnly = options.includes('ro') || sourceFlags.includes('ro');
  const merged = [...new Set([...options, ...sourceFlags])].filter((option) => option !== 'ro' && option !== 'rw');
  return options.includes('rw') || readOnly ? [...merged, readOnly ? 'ro' : 'rw'] : merged;
}

function kernelFilesystemMounts(input: SpecInput, foreign: ForeignNamespaces) {
  const { shm } = input.podFiles;
  const kernelView = input.container.security.privileged ? [] : ['ro'];
  const all = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'bind', source: shm, options: bindOptions(['rbind', 'nosuid', 'noexec', 'nodev'], input.bindSourceFlags?.[shm]) },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    foreign.net
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...kernelView] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...kernelView] },
  ];
  return foreign.ipc ? all.filter((mount) => mount.type !== 'mqueue') : all;
}

function podFileMounts(input: SpecInput) {
  const files = input.podFiles;
  const bind = (source: string, destination: string) => ({ destination, type: 'bind', source, options: bindOptions(['rbind', 'rprivate', 'ro'], input.bindSourceFlags?.[source]) });
  const notify = input.notifyDir && wantsNotify(input.container)
    ? [{ destination: NOTIFY_MOUNT, type: 'bind', source: input.notifyDir, options: ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev', 'noexec'] }]
    : [];
  return [bind(files.hosts, '/etc/hosts'), bind(files.hostname, '/etc/hostname'), bind(files.resolvConf, '/etc/resolv.conf'), ...notify];
}

/** WATCHDOG_USEC, as systemd sets it for WatchdogSec (no WATCHDOG_PID: any process of the container may ping). */
function watchdogEnvironment(container: Container): Record<string, string> {
  const probe = container.lifecycle.healthcheck?.probe;
  return probe?.kind === 'notify' && probe.watchdogMs !== undefined ? { WATCHDOG_USEC: String(probe.watchdogMs * 1000) } : {};
}

/** Whether the container says it is ready through sd_notify (healthcheck notify: true). */
export const wantsNotify = (container: Container) => container.lifecycle.healthcheck?.probe.kind === 'notify';

function volumeMount(mount: ResolvedMount, sourceFlags: SpecInput['bindSourceFlags']) {
  if (mount.type === 'tmpfs') {
    const options = ['nosuid', 'nodev'];
    if (mount.size) options.push(`size=${mount.size}`);
    if (mount.mode !== undefined) options.push(`mode=${mount.mode.toString(8)}`);
    if (mount.uid !== undefined) options.push(`uid=${mount.uid}`);
    if (mount.gid !== undefined) options.push(`gid=${mount.gid}`);
    if (mount.readOnly) options.push('ro');
    return { destination: mount.target, type: 'tmpfs', source: 'tmpfs', options };
  }
  return { destination: mount.target, type: 'bind', source: mount.source, options: bindOptions(['rbind', 'rprivate', mount.readOnly ? 'ro' : 'rw'], sourceFlags?.[mount.source]) };
}

/**
 * A container with an init runs the host's catatonit (static, mounted read-only) as PID 1, which
 * starts the command, passes signals on to it and reaps orphans, as podman's and docker's --init do.
 */
function initOf(input: SpecInput): { args: string[]; mounts: { destination: string; type: string; source: string; options: string[] }[] } {
  const { container } = input;
  if (!container.initProcess) return { args: [...container.argv], mounts: [] };
  if (!input.initBinary) throw new Error('init: true needs catatonit on the host (apt-get install catatonit)');
  return {
    args: [INIT_PATH, '--', ...container.argv],
    mounts: [{ destination: INIT_PATH, type: 'bind', source: input.initBinary, options: bindOptions(['bind', 'nosuid', 'nodev', 'ro'], input.bindSourceFlags?.[input.initBinary]) }],
  };
}

function environmentFor(input: SpecInput): string[] {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH, HOSTNAME: input.hostname, HOME: input.user.home, ...input.container.env,
    ...(input.notifyDir && wantsNotify(input.container) ? { NOTIFY_SOCKET: `${NOTIFY_MOUNT}/notify.sock`, ...watchdogEnvironment(input.container) } : {}),
  };
  return Object.keys(env).sort().map((key) => `${key}=${env[key]}`);
}

function foreignNamespaces(input: SpecInput): ForeignNamespaces {
  const foreign = (kind: SharedNamespace) => Boolean(input.userns) && (input.joinNamespaces[kind] !== undefined || (input.hostNamespaces ?? []).includes(kind));
  return { ipc: foreign('ipc'), net: foreign('net') };
}

/** The cgroup limits of the OCI spec (linux.resources), from the model's. */
export function resourcesSection(resources: Resources) {
  return {
    ...(resources.memoryBytes !== undefined || resources.memoryReservationBytes !== undefined
      ? { memory: { ...(resources.memoryBytes !== undefined ? { limit: resources.memoryBytes } : {}), ...(resources.memoryReservationBytes !== undefined ? { reservation: resources.memoryReservationBytes } : {}) } }
      : {}),
    ...(resources.cpus !== undefined ? { cpu: { quota: Math.round(resources.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US } } : {}),
    ...(resources.pidsLimit !== undefined ? { pids: { limit: resources.pidsLimit } } : {}),
  };
}

/**
 * The device cgroup: a privileged container may use every device; any other only runc's defaults
 * (null, zero, full, random, urandom, tty, ptmx, which runc adds itself) and the nodes it was given.
 */
function deviceRules(input: SpecInput, confined: boolean) {
  const given = (input.devices ?? []).map((device) => ({ allow: true, type: device.type, major: device.major, minor: device.minor, access: device.access }));
  return [{ allow: !confined, access: 'rwm' }, ...(confined ? given : [])];
}

/** The device nodes of `devices:`, made in the container by runc. */
const deviceNodes = (input: SpecInput) => (input.devices ?? []).map(({ path, type, major, minor, fileMode, uid, gid }) => ({ path, type, major, minor, fileMode, uid, gid }));

/** rlimits: nofile by default, then the container's ulimits; none above what the host allows. */
function rlimitsFor(input: SpecInput) {
  const limits: Record<string, { soft: number; hard: number }> = {
    nofile: { soft: Math.min(WANTED_NOFILE, input.nofileHardLimit), hard: Math.min(WANTED_NOFILE, input.nofileHardLimit) },
    ...input.container.security.ulimits,
  };
  if (limits.nofile!.hard > input.nofileHardLimit) {
    throw new Error(`ulimit nofile ${limits.nofile!.hard} is above the host's hard limit ${input.nofileHardLimit}; ask for at most ${input.nofileHardLimit}`);
  }
  // Without CAP_SYS_RESOURCE (some VMs drop it from every process) no hard limit can be raised:
  // said here, with the number to ask for, rather than as runc's "operation not permitted".
  if (input.boundingCapabilities && !input.boundingCapabilities.includes('CAP_SYS_RESOURCE')) {
    for (const name of Object.keys(input.container.security.ulimits)) {
      const wanted = limits[name]!.hard;
      const host = input.hardLimits?.[name];
      if (host === undefined || host === -1 || (wanted !== -1 && wanted <= host)) continue;
      throw new Error(`ulimit ${name} ${wanted === -1 ? 'unlimited' : wanted} is above this host's hard limit ${host}, which cannot be raised here (the host gives no process CAP_SYS_RESOURCE); ask for at most ${host}`);
    }
  }
  return Object.keys(limits).sort().map((name) => ({ type: `RLIMIT_${name.toUpperCase()}`, hard: limits[name]!.hard, soft: limits[name]!.soft }));
}

/** RLIM_INFINITY as runc reads it: a uint64, which a JavaScript number cannot carry exactly. */
const RLIM_INFINITY = '18446744073709551615';

/** config.json's text: the spec as JSON, with an unlimited rlimit (-1 in the model) as RLIM_INFINITY. */
export function specText(spec: unknown): string {
  // A marker no value of the spec can hold, replaced by the bare number once serialised.
  const marker = `rlim-infinity-${randomUUID()}`;
  const text = JSON.stringify(spec, (key, value: unknown) => ((key === 'soft' || key === 'hard') && value === -1 ? marker : value), 2);
  return `${text.replaceAll(`"${marker}"`, RLIM_INFINITY)}\n`;
}

/** The OCI config.json for a container of a pod: joins the pod's namespaces, with secure defaults. */
export function generateSpec(input: SpecInput) {
  const { container } = input;
  const { security } = container;
  const capabilities = effectiveCapabilities(security).filter((cap) => !input.boundingCapabilities || input.boundingCapabilities.includes(cap));
  const confined = !security.privileged;
  const init = initOf(input);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: container.tty === true,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
      args: init.args,
      env: environmentFor(input),
      cwd: container.workdir,
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities, inheritable: [], ambient: [] },
      rlimits: rlimitsFor(input),
      noNewPrivileges: security.noNewPrivileges,
    },
    root: { path: input.rootfs, readonly: security.readOnlyRootfs },
    // A joined UTS namespace already carries the pod's hostname; the runtime may only set it in a fresh one.
    ...(input.joinNamespaces.uts || input.hostNamespaces?.includes('uts') ? {} : { hostname: input.hostname }),
    mounts: [
      ...kernelFilesystemMounts(input, foreignNamespaces(input)),
      ...podFileMounts(input),
      ...input.mounts.map((mount) => volumeMount(mount, input.bindSourceFlags)),
      ...init.mounts,
    ],
    // Labels first, so that none can pass for Corral's own annotations (the loader refuses corral.* too).
    annotations: {
      ...input.podLabels,
      ...container.labels,
      'corral.project': input.project,
      'corral.pod': container.pod,
      'corral.container': container.name,
      'corral.hash': input.hash,
      // `down` and `stop` work without the project file, so the container carries how it wants to be stopped.
      'corral.stop-signal': container.lifecycle.stopSignal,
      'corral.stop-grace-ms': String(container.lifecycle.stopGraceMs),
      // And the hooks it runs after start and before stop, which `stop` and `down` run without the file.
      ...(container.lifecycle.postStart || container.lifecycle.preStop ? { [HOOKS_ANNOTATION]: JSON.stringify({ postStart: container.lifecycle.postStart ?? [], preStop: container.lifecycle.preStop ?? [] }) } : {}),
      ...(security.privileged ? { 'corral.privileged': 'true' } : {}),
      // conmon keeps a pipe to its stdin open (-i) for `attach`; a relaunch reads it from here.
      ...(container.stdinOpen ? { [STDIN_OPEN_ANNOTATION]: 'true' } : {}),
      // A relaunch starts a notify keeper again for the new process.
      ...(input.notifyDir && wantsNotify(container) ? { [NOTIFY_ANNOTATION]: 'true' } : {}),
      // `corral image rm` refuses to remove an image a container was created from.
      ...(container.image ? { 'corral.image': container.image.ref } : {}),
    },
    linux: {
      cgroupsPath: input.cgroupsPath,
      namespaces: namespacesFor(input),
      ...(input.userns ? { uidMappings: ociMappings(input.userns.uidMappings), gidMappings: ociMappings(input.userns.gidMappings) } : {}),
      ...(input.devices?.length ? { devices: deviceNodes(input) } : {}),
      resources: { devices: deviceRules(input, confined), ...resourcesSection(container.resources) },
      ...(Object.keys(security.sysctls).length > 0 ? { sysctl: { ...security.sysctls } } : {}),
      maskedPaths: confined ? [...MASKED_PATHS] : [],
      readonlyPaths: confined ? [...READONLY_PATHS] : [],
      ...(confined && input.seccompProfile ? { seccomp: seccompForContainer(input.seccompProfile, capabilities) } : {}),
    },
  };
}

export type OciSpec = ReturnType<typeof generateSpec>;
