import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import path from 'node:path';
import { findPackageFile } from './package-file.js';

// The typed face of the C++ addon (native/src): namespaces, mounts, cgroups and pods' veths, one
// syscall-shaped job per function. Arguments are checked here, so the C++ side only copies them into
// workers; a bad argument throws a TypeError synchronously, a failed syscall rejects with Node's
// errno shape.

export type NamespaceType = 'net' | 'ipc' | 'uts';

/** What every rejection from the addon carries, like Node's own fs errors. */
export interface NativeError extends Error {
  /** errno name, e.g. 'EPERM'. */
  readonly code: string;
  /** Negative errno, as in Node's fs errors (util.getSystemErrorName understands it). */
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  /** Second path of two-path calls, e.g. the target of a mount (then `path` is the source). */
  readonly dest?: string;
}

export interface CgroupLimits {
  memoryBytes?: number;
  memoryReservationBytes?: number;
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  pidsMax?: number;
}

interface Binding {
  createPinnedNamespaces(dir: string, types: readonly string[], hostname: string | undefined): Promise<Record<string, string>>;
  removePinnedNamespace(path: string): Promise<void>;
  mount(source: string, target: string, fstype: string, flags: readonly string[], data: string): Promise<void>;
  unmount(target: string, detach: boolean): Promise<void>;
  cgroupVersion(): number;
  createCgroup(relPath: string): Promise<void>;
  setCgroupLimits(relPath: string, limits: CgroupLimits): Promise<void>;
  killCgroup(relPath: string): Promise<number>;
  removeCgroup(relPath: string): Promise<void>;
  readCgroupFile(controller: string, relPath: string, file: string): string;
  lockFile(path: string): Promise<number>;
  unlockFile(fd: number): void;
  isLockHeld(path: string): boolean;
  connectInNetworkNamespace(netnsPath: string, address: string, port: number, timeoutMs: number): Promise<number>;
  markInheritedDescriptorsCloseOnExec(): void;
  connectSequencedPacket(dir: string, name: string): Promise<number>;
  shutdownSocket(fd: number, how: string): void;
  makeWhiteout(path: string): Promise<void>;
  markOpaque(dir: string): Promise<void>;
  openInRoot(rootFd: number, path: string, flags: readonly string[], mode: number): Promise<number>;
  makeDirectoryInRoot(rootFd: number, path: string, mode: number): Promise<void>;
  makeSymlinkInRoot(rootFd: number, path: string, target: string): Promise<void>;
  removeInRoot(rootFd: number, path: string): Promise<void>;
  readLinkOf(fd: number): Promise<string>;
  changeOwnerOf(fd: number, uid: number, gid: number): Promise<void>;
  linkPodToBridge(link: PodBridgeLink): Promise<void>;
  unlinkPodInterface(netns: string, ifName: string): Promise<void>;
}

/** A veth from a pod's network namespace to a bridge in Corral's, as linkPodToBridge makes it. */
export interface PodBridgeLink {
  /** The pod's pinned network namespace. */
  readonly netns: string;
  /** The interface in the pod. */
  readonly ifName: string;
  /** The end on the bridge, in Corral's namespace. */
  readonly hostEnd: string;
  readonly bridge: string;
  /** The pod's IPv4 address, and its subnet's prefix length. */
  readonly address: string;
  readonly prefixLength: number;
  /** The default route's gateway, when this network gives the pod its default route. */
  readonly gateway?: string;
  /** The pod end's MAC address, else the kernel's random one. */
  readonly mac?: string;
}

/** open(2) flags openInRoot takes by name. */
export type InRootOpenFlag = 'read' | 'write' | 'create' | 'exclusive' | 'truncate' | 'directory' | 'nofollow' | 'path';
const IN_ROOT_OPEN_FLAGS: readonly InRootOpenFlag[] = ['read', 'write', 'create', 'exclusive', 'truncate', 'directory', 'nofollow', 'path'];
/** The largest uid or gid a user namespace can map (2^32 - 2; -1 means "unchanged" to chown). */
const MAX_ID = 0xfffffffe;

/** What the kernel takes as an interface name (dev_valid_name): 1-15 bytes, no '/', ':' or space, not "." or "..". */
const IFNAMSIZ = 16;
const MAC_ADDRESS = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

const ADDON_PATH = 'native/build/Release/corral_native.node';
const NAMESPACE_TYPES: readonly NamespaceType[] = ['net', 'ipc', 'uts'];
const MOUNT_FLAGS = ['bind', 'rbind', 'ro', 'nosuid', 'nodev', 'noexec', 'private', 'rprivate', 'slave', 'shared', 'remount'];
const HOST_NAME_MAX = 64;
/** What mount(2) copies of its data argument: one page (4 KiB on the architectures Corral runs on). */
const MOUNT_OPTIONS_MAX = 4096;

let binding: Binding | undefined;

// Loaded on first use, so modules that merely import this one work without a built addon.
function addon(): Binding {
  binding ??= createRequire(import.meta.url)(findPackageFile(ADDON_PATH, 'run `npx node-gyp rebuild --directory native`')) as Binding;
  return binding;
}

// Relative paths would resolve against whatever cwd the worker thread sees; refuse them.
function requireAbsolutePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || !path.isAbsolute(value) || value.includes('\0')) {
    throw new TypeError(`${name} must be an absolute path, got ${JSON.stringify(value)}`);
  }
  return value;
}

// Empty strings mean NULL to the addon, and a NUL byte would silently truncate the C string.
function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

// "corral/proj/pod": relative, no empty, "." or ".." components, so it can never leave the hierarchy.
function requireCgroupPath(value: unknown): string {
  const parts = typeof value === 'string' ? value.split('/') : [];
  if (typeof value !== 'string' || value.includes('\0') || parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new TypeError(`cgroup path must look like "corral/project/pod", got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireInterfaceName(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) >= IFNAMSIZ || /[/:\s\0]/.test(value) || value === '.' || value === '..') {
    throw new TypeError(`${name} must be an interface name (1-${IFNAMSIZ - 1} bytes, no '/', ':' or space), got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireIPv4(name: string, value: unknown): string {
  if (typeof value !== 'string' || !isIPv4(value)) throw new TypeError(`${name} must be an IPv4 address, got ${JSON.stringify(value)}`);
  return value;
}

function requireMacAddress(value: unknown): string {
  if (typeof value !== 'string' || !MAC_ADDRESS.test(value)) throw new TypeError(`mac must look like 02:00:00:00:00:01, got ${JSON.stringify(value)}`);
  return value;
}

// A single file name: the cgroup files readCgroupFile may read.
function requireFileName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.=-]+$/.test(value) || value === '.' || value === '..') {
    throw new TypeError(`${name} must be a plain file name, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireDescriptor(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new TypeError(`${name} must be a file descriptor, got ${String(value)}`);
  return value;
}

function requireInteger(name: string, value: unknown, maximum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > maximum) throw new TypeError(`${name} must be an integer in 0..${maximum}, got ${String(value)}`);
  return value;
}

// A path inside a root: any string without NUL (".." and absolute ones are resolved in the root).
function requireRootPath(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw new TypeError(`path must be a non-empty string without NUL, got ${JSON.stringify(value)}`);
  return value;
}

// A path whose last component is made or removed: that component must be a name, not "", "." or "..".
function requireRootPathToName(value: unknown): string {
  const checked = requireRootPath(value);
  const last = checked.slice(checked.lastIndexOf('/') + 1);
  if (last === '' || last === '.' || last === '..') throw new TypeError(`path must end in a name (not "/", "." or ".."), got ${JSON.stringify(value)}`);
  return checked;
}

// Limits are integers; -1 means "no limit" (written as "max" where the kernel wants that).
function requireLimit(name: string, value: unknown, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (value < minimum && value !== -1)) {
    throw new TypeError(`${name} must be an integer >= ${minimum} (or -1 for no limit), got ${String(value)}`);
  }
  return value;
}

// Overlay options are comma-separated and lowerdir colon-separated; such paths would be misread.
function requireOverlayPath(name: string, value: unknown): string {
  const checked = requireAbsolutePath(name, value);
  if (/[,:\\]/.test(checked)) throw new TypeError(`${name} must not contain ',', ':' or '\\' (overlay options), got ${JSON.stringify(checked)}`);
  return checked;
}

/**
 * Creates new namespaces of the given types on a dedicated short-lived thread, sets the hostname
 * (uts), brings lo up (net) and pins each at `${dir}/${type}` with a bind mount; the thread then
 * exits. Resolves the pinned paths of the requested types; undoes its pins on failure.
 */
export function createPinnedNamespaces<T extends NamespaceType>(opts: { dir: string; types: readonly T[]; hostname?: string }): Promise<Record<T, string>> {
  const dir = requireAbsolutePath('dir', opts.dir);
  if (!Array.isArray(opts.types) || opts.types.length === 0 || new Set(opts.types).size !== opts.types.length
    || !opts.types.every((type) => NAMESPACE_TYPES.includes(type))) {
    throw new TypeError(`types must be distinct values among ${NAMESPACE_TYPES.join(', ')}, got ${JSON.stringify(opts.types)}`);
  }
  if (opts.hostname !== undefined && (typeof opts.hostname !== 'string' || opts.hostname === '' || opts.hostname.length > HOST_NAME_MAX || opts.hostname.includes('\0'))) {
    throw new TypeError(`hostname must be 1-${HOST_NAME_MAX} characters, got ${JSON.stringify(opts.hostname)}`);
  }
  return addon().createPinnedNamespaces(dir, [...opts.types], opts.hostname) as Promise<Record<T, string>>;
}

/** umount2(path, MNT_DETACH) then unlink. Idempotent: missing or unmounted paths resolve. */
export function removePinnedNamespace(pinPath: string): Promise<void> {
  return addon().removePinnedNamespace(requireAbsolutePath('path', pinPath));
}

/**
 * Generic mount(2) with named flags. Creates nothing. 'ro' with 'bind' becomes a bind plus a
 * read-only remount; propagation flags are applied by a separate call after the mount.
 */
export function mount(opts: { source: string; target: string; fstype?: string; flags?: readonly string[]; data?: string }): Promise<void> {
  const source = requireString('source', opts.source);
  const target = requireAbsolutePath('target', opts.target);
  const fstype = opts.fstype === undefined ? '' : requireString('fstype', opts.fstype);
  const flags = opts.flags ?? [];
  if (!Array.isArray(flags) || !flags.every((flag) => MOUNT_FLAGS.includes(flag))) {
    throw new TypeError(`flags must be among ${MOUNT_FLAGS.join(', ')}, got ${JSON.stringify(flags)}`);
  }
  const data = opts.data === undefined ? '' : requireString('data', opts.data);
  return addon().mount(source, target, fstype, [...flags], data);
}

/** Bind mount, optionally recursive and/or read-only. */
export function mountBind(source: string, target: string, opts: { readOnly?: boolean; recursive?: boolean } = {}): Promise<void> {
  const flags = [opts.recursive ? 'rbind' : 'bind', ...(opts.readOnly ? ['ro'] : [])];
  return mount({ source: requireAbsolutePath('source', source), target, flags });
}

/** A tmpfs, always nosuid and nodev. */
export function mountTmpfs(target: string, opts: { sizeBytes?: number; mode?: number; noexec?: boolean } = {}): Promise<void> {
  const options: string[] = [];
  if (opts.sizeBytes !== undefined) {
    if (!Number.isSafeInteger(opts.sizeBytes) || opts.sizeBytes <= 0) throw new TypeError(`sizeBytes must be a positive integer, got ${String(opts.sizeBytes)}`);
    options.push(`size=${opts.sizeBytes}`);
  }
  if (opts.mode !== undefined) {
    if (!Number.isInteger(opts.mode) || opts.mode < 0 || opts.mode > 0o7777) throw new TypeError(`mode must be an integer in 0..0o7777, got ${String(opts.mode)}`);
    options.push(`mode=${opts.mode.toString(8).padStart(4, '0')}`);
  }
  const flags = ['nosuid', 'nodev', ...(opts.noexec ? ['noexec'] : [])];
  return mount({ source: 'tmpfs', target, fstype: 'tmpfs', flags, ...(options.length > 0 ? { data: options.join(',') } : {}) });
}

/** An overlay of `lower` (first is the top layer) with writes landing in `upper`. */
export function mountOverlay(opts: { lower: readonly string[]; upper: string; work: string; target: string }): Promise<void> {
  if (!Array.isArray(opts.lower) || opts.lower.length === 0) throw new TypeError('lower must be a non-empty array of absolute paths');
  const lower = opts.lower.map((dir, index) => requireOverlayPath(`lower[${index}]`, dir));
  const data = `lowerdir=${lower.join(':')},upperdir=${requireOverlayPath('upper', opts.upper)},workdir=${requireOverlayPath('work', opts.work)}`;
  // mount(2) reads one page of options and cuts the rest, so overlayfs would be given other dirs.
  if (data.length >= MOUNT_OPTIONS_MAX) {
    return Promise.reject(Object.assign(new Error(`overlay options of ${data.length} bytes (${lower.length} lower dirs) do not fit in one page`), { code: 'E2BIG', syscall: 'mount', path: opts.target }));
  }
  return mount({ source: 'overlay', target: opts.target, fstype: 'overlay', data });
}

/** umount2; `detach` uses MNT_DETACH. Resolves when the target is missing or not mounted. */
export function unmount(target: string, opts: { detach?: boolean } = {}): Promise<void> {
  return addon().unmount(requireAbsolutePath('target', target), opts.detach === true);
}

/** 2 when /sys/fs/cgroup is a cgroup2 mount, 1 otherwise (legacy or hybrid). */
export function cgroupVersion(): 1 | 2 {
  return addon().cgroupVersion() === 2 ? 2 : 1;
}

/**
 * mkdir -p of `relPath` in every hierarchy (v1: every cgroup mount under /sys/fs/cgroup, cpuset
 * cpus/mems copied from the parent; v2: +cpu +memory +pids +io enabled in each ancestor). Idempotent.
 */
export function createCgroup(relPath: string): Promise<void> {
  return addon().createCgroup(requireCgroupPath(relPath));
}

/** Writes the given limits (v1 or v2 files); -1 means no limit, and no reservation (v2: memory.low 0, not max). */
export function setCgroupLimits(relPath: string, limits: CgroupLimits): Promise<void> {
  const checked: CgroupLimits = {
    memoryBytes: requireLimit('memoryBytes', limits.memoryBytes, 0),
    memoryReservationBytes: requireLimit('memoryReservationBytes', limits.memoryReservationBytes, 0),
    cpuQuotaUs: requireLimit('cpuQuotaUs', limits.cpuQuotaUs, 1000),
    cpuPeriodUs: requireLimit('cpuPeriodUs', limits.cpuPeriodUs, 1000),
    pidsMax: requireLimit('pidsMax', limits.pidsMax, 0),
  };
  if (checked.cpuPeriodUs === -1) throw new TypeError('cpuPeriodUs cannot be -1');
  return addon().setCgroupLimits(requireCgroupPath(relPath), checked);
}

/** Freeze, SIGKILL every process in the cgroup and its descendants, thaw; resolves how many were signalled (0 when missing). */
export function killCgroup(relPath: string): Promise<number> {
  return addon().killCgroup(requireCgroupPath(relPath));
}

/** rmdir the cgroup and its descendants in every hierarchy, retrying EBUSY briefly. Missing resolves. */
export function removeCgroup(relPath: string): Promise<void> {
  return addon().removeCgroup(requireCgroupPath(relPath));
}

/** Reads one file of the cgroup in the hierarchy of `controller` ('memory', 'cpu', 'pids', ...); v2 ignores it. */
export function readCgroupFile(controller: string, relPath: string, file: string): string {
  return addon().readCgroupFile(requireFileName('controller', controller), requireCgroupPath(relPath), requireFileName('file', file));
}

/**
 * Takes an exclusive flock on `path` (created 0600, close-on-exec), waiting while another process
 * holds it. Resolves the descriptor; the kernel releases the lock when it is closed or the process dies.
 */
export function lockFile(lockPath: string): Promise<number> {
  return addon().lockFile(requireAbsolutePath('lock path', lockPath));
}

/**
 * Whether another process holds an exclusive lock (lockFile) on `path` right now; false when the file
 * does not exist. Never waits: a holder that is alive but slow to answer still counts.
 */
export function isLockHeld(lockPath: string): boolean {
  return addon().isLockHeld(requireAbsolutePath('lock path', lockPath));
}

/** Releases a lock taken with lockFile. */
export function unlockFile(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`fd must be a file descriptor, got ${String(fd)}`);
  addon().unlockFile(fd);
}

/**
 * Marks every descriptor above stderr close-on-exec (close_range(3, ~0, CLOSE_RANGE_CLOEXEC)), so that
 * the process spawned next gets the stdio it is given and nothing else. Node opens its own descriptors
 * close-on-exec and marks 0 to 16 so when it starts, but one above that which it inherited (a caller's
 * pipe, a make jobserver) stays open across exec: spawn() would hand it to conmon or the supervisor,
 * which keep it as long as the container or project lives. Synchronous: one syscall that must be done
 * before the spawn() right after it, not at a later tick.
 */
export function markInheritedDescriptorsCloseOnExec(): void {
  addon().markInheritedDescriptorsCloseOnExec();
}

/**
 * Connects to `address:port` (IPv4) from inside the network namespace at `netnsPath`, e.g. a
 * container's /proc/PID/ns/net; resolves the connected socket's descriptor, which `net.Socket({ fd })` wraps.
 */
export function connectInNetworkNamespace(netnsPath: string, address: string, port: number, timeoutMs: number): Promise<number> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`port must be 1-65535, got ${port}`);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new TypeError(`timeoutMs must be a non-negative integer, got ${timeoutMs}`);
  return addon().connectInNetworkNamespace(requireAbsolutePath('netns path', netnsPath), address, port, timeoutMs);
}

/**
 * A SOCK_SEQPACKET connection to the unix socket `name` in `dir` (conmon's attach socket), whatever
 * the length of `dir`. Resolves a blocking, close-on-exec descriptor: read it with fs.read (one
 * packet per read), write it with fs.write, close it with fs.close.
 */
export function connectSequencedPacket(dir: string, name: string): Promise<number> {
  return addon().connectSequencedPacket(requireAbsolutePath('socket dir', dir), requireFileName('socket name', name));
}

/** Ends one direction of a connected socket (write: the peer reads end of file). */
export function shutdownSocket(fd: number, how: 'read' | 'write' | 'both'): void {
  if (!['read', 'write', 'both'].includes(how)) throw new TypeError(`how must be read, write or both, got ${String(how)}`);
  addon().shutdownSocket(requireDescriptor('fd', fd), how);
}

/** overlayfs' whiteout (a 0/0 character device) at `path`: the file of a lower layer is deleted. */
export function makeWhiteout(whiteoutPath: string): Promise<void> {
  return addon().makeWhiteout(requireAbsolutePath('whiteout path', whiteoutPath));
}

/** Marks `dir` opaque for overlayfs: nothing of the lower layers shows through it. */
export function markOpaque(dir: string): Promise<void> {
  return addon().markOpaque(requireAbsolutePath('directory', dir));
}

/**
 * openat2(2) of `path` relative to the directory `rootFd` with RESOLVE_IN_ROOT: "..", absolute paths
 * and symlinks (absolute or relative, in any component) are resolved as if `rootFd` were "/", so the
 * result is always inside it; magic links (/proc/PID/fd/N) are refused (ELOOP). Resolves the new
 * descriptor (close-on-exec), which the caller closes. With 'nofollow' a final symlink is not followed
 * (with 'path': the symlink itself is opened; otherwise ELOOP).
 */
export function openInRoot(rootFd: number, openPath: string, options: { flags: readonly InRootOpenFlag[]; mode?: number }): Promise<number> {
  if (!Array.isArray(options.flags) || !options.flags.every((flag) => IN_ROOT_OPEN_FLAGS.includes(flag))) {
    throw new TypeError(`flags must be among ${IN_ROOT_OPEN_FLAGS.join(', ')}, got ${JSON.stringify(options.flags)}`);
  }
  return addon().openInRoot(requireDescriptor('rootFd', rootFd), requireRootPath(openPath), [...options.flags], requireInteger('mode', options.mode ?? 0, 0o7777));
}

/** mkdirat(2) of the last component of `path` in its parent, resolved in the root; the last component is never followed (EEXIST). */
export function makeDirectoryInRoot(rootFd: number, dirPath: string, mode: number): Promise<void> {
  return addon().makeDirectoryInRoot(requireDescriptor('rootFd', rootFd), requireRootPathToName(dirPath), requireInteger('mode', mode, 0o7777));
}

/** symlinkat(2): the last component of `path`, in its parent resolved in the root, becomes a symlink to `target` (which is not resolved). */
export function makeSymlinkInRoot(rootFd: number, linkPath: string, target: string): Promise<void> {
  return addon().makeSymlinkInRoot(requireDescriptor('rootFd', rootFd), requireRootPathToName(linkPath), requireRootPath(target));
}

/** unlinkat(2) of the last component of `path` (not a directory) in its parent, resolved in the root. */
export function removeInRoot(rootFd: number, removedPath: string): Promise<void> {
  return addon().removeInRoot(requireDescriptor('rootFd', rootFd), requireRootPathToName(removedPath));
}

/** The target of the symlink that `fd` is open on (openInRoot with 'path' and 'nofollow'). */
export function readLinkOf(fd: number): Promise<string> {
  return addon().readLinkOf(requireDescriptor('fd', fd));
}

/** Sets the owners of whatever `fd` is open on, a symlink included (fchownat with AT_EMPTY_PATH). */
export function changeOwnerOf(fd: number, owner: { uid: number; gid: number }): Promise<void> {
  return addon().changeOwnerOf(requireDescriptor('fd', fd), requireInteger('uid', owner.uid, MAX_ID), requireInteger('gid', owner.gid, MAX_ID));
}

/**
 * Links a pod to a bridge by rtnetlink, no process: a veth pair whose host end is enslaved to `bridge`
 * (hairpin mode, up) and whose peer `ifName` is made directly in the pod's namespace with its address,
 * up, and a default route via `gateway` if given. An interface `ifName` already in the pod (left by an
 * interrupted attach) is replaced. On failure removes what it made and rejects naming the step and the
 * interface (syscall 'rtnetlink <step>', path the interface).
 */
export function linkPodToBridge(link: PodBridgeLink): Promise<void> {
  const checked: PodBridgeLink = {
    netns: requireAbsolutePath('netns', link.netns),
    ifName: requireInterfaceName('ifName', link.ifName),
    hostEnd: requireInterfaceName('hostEnd', link.hostEnd),
    bridge: requireInterfaceName('bridge', link.bridge),
    address: requireIPv4('address', link.address),
    prefixLength: requireInteger('prefixLength', link.prefixLength, 32),
    ...(link.gateway === undefined ? {} : { gateway: requireIPv4('gateway', link.gateway) }),
    ...(link.mac === undefined ? {} : { mac: requireMacAddress(link.mac) }),
  };
  return addon().linkPodToBridge(checked);
}

/** Removes the interface `ifName` in the pod's namespace (its veth peer goes with it); a missing interface or namespace resolves. */
export function unlinkPodInterface(netns: string, ifName: string): Promise<void> {
  return addon().unlinkPodInterface(requireAbsolutePath('netns', netns), requireInterfaceName('ifName', ifName));
}
