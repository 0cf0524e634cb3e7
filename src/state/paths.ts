import path from 'node:path';

// Where Corral keeps things. Runtime state (lost at reboot) lives under the run dir, persistent state
// (volumes, container upper dirs, logs, the applied project) under the state dir. Both can be moved
// with CORRAL_RUN_DIR / CORRAL_STATE_DIR, which is how tests keep out of the real ones.

export interface Dirs {
  readonly run: string;
  readonly state: string;
}

/** The run and state dirs from the environment, or the defaults /run/corral and /var/lib/corral. */
export function dirsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Dirs {
  return {
    run: path.resolve(env.CORRAL_RUN_DIR || '/run/corral'),
    state: path.resolve(env.CORRAL_STATE_DIR || '/var/lib/corral'),
  };
}

/** The state dir's subdir of boot records: one file per project that `up -d` left up (state/boot-records.ts). */
const BOOT_RECORDS = 'boot';

/**
 * Host networks (`corral network create`, `external: true`), shared by the projects of these dirs:
 * each one's record in the state dir (it outlives a reboot, as a docker network does; the bridge and
 * the subnet claim are made again on first use), the lock that orders every command touching them,
 * and the IPAM leases of their pods in the run dir (lost at reboot with the pods). `.networks` is no
 * project name, so no command takes it for a project.
 */
export function hostNetworkPaths(dirs: Dirs) {
  const records = path.join(dirs.state, 'networks');
  return {
    records,
    record: (name: string) => path.join(records, `${name}.json`),
    /** Who claims the network's subnet (network/subnet.ts): the record's path without .json. */
    subnetOwner: (name: string) => path.join(records, name),
    lock: path.join(records, '.lock'),
    leases: path.join(dirs.run, '.networks', 'ipam'),
  };
}

/**
 * Host volumes (`corral volume create NAME`, a volume's `name:`, `external: true`), shared by the
 * projects of these dirs: each one a dir of the state dir's volumes/, its data in _data (as a
 * project's own volume), with a record of who made it; and the lock that orders removing one
 * against its use. `.lock` is no volume name.
 */
export function hostVolumePaths(dirs: Dirs) {
  const dir = path.join(dirs.state, 'volumes');
  return {
    dir,
    data: (name: string) => path.join(dir, name, '_data'),
    record: (name: string) => path.join(dir, name, 'volume.json'),
    lock: path.join(dir, '.lock'),
  };
}

/** The volume a mount source lies in (volumesDir/NAME/_data, or below it: a subpath), else undefined. */
export function volumeOfSource(volumesDir: string, source: string): string | undefined {
  const [name, data] = path.relative(volumesDir, source).split(path.sep);
  return name && name !== '..' && data === '_data' ? name : undefined;
}

/**
 * The pods' resolver (network/resolver.ts): aardvark-dns's config dir, one file per network and its
 * pid file, shared by the projects of these dirs and lost at reboot with the pods.
 */
export function resolverPaths(dirs: Dirs) {
  return { config: path.join(dirs.run, '.networks', 'dns') };
}

/** The host-wide dir of subnet claims (see network/subnet.ts), shared by every run dir. */
export function subnetClaimsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.CORRAL_SUBNET_CLAIMS || '/run/corral-subnets');
}

/**
 * Every dir that holds Corral's own state, by default and as the environment moves it: the run dir,
 * the subnet claims and what the state dir keeps (projects, images, user namespace claims).
 */
export function corralOwnDirs(active: Dirs = dirsFromEnvironment()): string[] {
  const ownOf = (dirs: Dirs) => [dirs.run, ...['projects', 'images', 'userns', 'networks', 'volumes', BOOT_RECORDS].map((name) => path.join(dirs.state, name))];
  return [...new Set([...ownOf(dirsFromEnvironment({})), ...ownOf(active), subnetClaimsDir({}), subnetClaimsDir()])];
}

/** Where the projects that come back at boot are recorded, one `<project>.json` each. */
export function bootRecordsDir(dirs: Dirs): string {
  return path.join(dirs.state, BOOT_RECORDS);
}

/** Every path of one project, so that no other module builds paths by hand. */
export function projectPaths(dirs: Dirs, project: string) {
  const run = path.join(dirs.run, project);
  const state = path.join(dirs.state, 'projects', project);
  return {
    run,
    state,
    lock: path.join(run, 'lock'),
    runcRoot: path.join(run, 'runc'),
    exits: path.join(run, 'exits'),
    /** Where conmon writes a container's exit code (named by the container's id). */
    exitFile: (id: string) => path.join(run, 'exits', id),
    sockets: path.join(run, 'sockets'),
    applied: path.join(state, 'applied.json'),
    /** Containers the user stopped (`corral stop`), which no restart policy brings back. */
    stopped: path.join(state, 'stopped.json'),
    /**
     * That `up -d` left the project up, and how to load it again (state/boot-records.ts): `corral boot`
     * brings back the projects recorded so. Beside the other projects' records, not in the project's
     * dir, so that boot finds them all with one readdir.
     */
    bootRecord: path.join(bootRecordsDir(dirs), `${project}.json`),
    /** The supervisor's machine snapshots (restarts, backoff, health), for `ps` and for the next supervisor. */
    machines: path.join(state, 'machines.json'),
    supervisorLog: path.join(state, 'supervisor.log'),
    /** The commit GitOps last applied to the project (gitops/applied-commit.ts). */
    gitopsCommit: path.join(state, 'gitops.json'),
    /** The recent container events (`corral events`), written by the supervisor. */
    events: path.join(state, 'events.jsonl'),
    supervisorSocket: path.join(run, 'supervisor.sock'),
    supervisorLock: path.join(run, 'supervisor.lock'),
    /** The pid of the supervisor a command last started: one still starting (no lock, no socket yet) counts as there. */
    supervisorPid: path.join(run, 'supervisor.pid'),
    /** The project network: bridge, subnet, CNI configuration. */
    network: path.join(run, 'network.json'),
    /** host-local IPAM leases. */
    cniData: path.join(run, 'cni'),
    volume: (name: string) => path.join(state, 'volumes', name, '_data'),
    volumes: path.join(state, 'volumes'),
    pod: (pod: string) => podPaths(run, pod),
    container: (id: string) => containerPaths(run, state, id),
    containersRun: path.join(run, 'containers'),
    containersState: path.join(state, 'containers'),
    podsRun: path.join(run, 'pods'),
    /** Claims of automatic user namespace ranges, shared by every project of the state dir. */
    usernsClaims: path.join(dirs.state, 'userns'),
  };
}

export type ProjectPaths = ReturnType<typeof projectPaths>;

function podPaths(run: string, pod: string) {
  const dir = path.join(run, 'pods', pod);
  const [ns, shm, hosts, hostname, resolvConf, network, pidHolder] = ['ns', 'shm', 'hosts', 'hostname', 'resolv.conf', 'network.json', 'pid-holder'].map((name) => path.join(dir, name)) as [string, string, string, string, string, string, string];
  return {
    dir,
    /** The pinned namespaces, one bind mount each; then the pod's /dev/shm and the files its containers mount. */
    ns, shm, hosts, hostname, resolvConf,
    /** The pod's CNI attachment: configuration, result, published ports. */
    network,
    /** Pid of the process that holds the pod's PID namespace (share: pid). */
    pidHolder,
  };
}

// Joined by hand below the two dirs: they are normal already, and `ps` of 100 containers spent ~10 ms
// of its ~140 ms of CPU in path.join's normalising of these twenty names per container.
const under = (dir: string, name: string) => `${dir}/${name}`;

function containerPaths(run: string, state: string, id: string) {
  const bundle = path.join(run, 'containers', id);
  const persistent = path.join(state, 'containers', id);
  return {
    bundle,
    config: under(bundle, 'config.json'),
    /** Device and inode each volume and bind must show once mounted (runtime/bind-source.ts). */
    judgedMounts: under(bundle, 'judged-mounts.json'),
    rootfs: under(bundle, 'rootfs'),
    pidFile: under(bundle, 'pid'),
    conmonPidFile: under(bundle, 'conmon.pid'),
    /**
     * Written once the command that launched conmon has read the container's pid from it: a conmon
     * without it was launched by a command that died first, and dies itself when it reports the pid.
     */
    conmonReported: under(bundle, 'conmon-reported'),
    /** The container's secrets and configs, each bind-mounted read-only. */
    providedFiles: under(bundle, 'files'),
    /** /etc/hostname of a container with a hostname of its own. */
    hostname: under(bundle, 'hostname'),
    /** `healthcheck: { notify: true }`: the dir with its sd_notify socket (the container's /run/notify). */
    notifyDir: under(bundle, 'notify'),
    /** Outside notifyDir (the container can write there): the pid that said READY=1. */
    notifyReady: under(bundle, 'notify-ready'),
    /** Pid of the notify keeper that holds the socket. */
    notifyKeeperPid: under(bundle, 'notify-keeper.pid'),
    persistent,
    upper: under(persistent, 'upper'),
    /** The private copy of its image that is its root where overlayfs cannot be used. */
    copy: under(persistent, 'root'),
    work: under(persistent, 'work'),
    log: under(persistent, 'ctr.log'),
    /** The last checkpoint's CRIU images (runtime/checkpoint.ts); CRIU's dump.log with them. */
    checkpointImages: under(persistent, 'checkpoint'),
    /** What the checkpoint was taken of: the config hash, when, where (runtime/checkpoint.ts). */
    checkpointRecord: under(persistent, 'checkpoint.json'),
  };
}

/** The runc id of a container: dots cannot occur in names, so the id splits back unambiguously. */
export function containerId(project: string, pod: string, container: string): string {
  return `${project}.${pod}.${container}`;
}

/** The cgroup of a pod, relative to each hierarchy's root; its containers get child cgroups. */
export function podCgroup(project: string, pod: string): string {
  return `corral/${project}/${pod}`;
}

/** The cgroup of one container, under its pod's (relative to each hierarchy's root). */
export function containerCgroup(project: string, pod: string, container: string): string {
  return `${podCgroup(project, pod)}/${container}`;
}

export function projectCgroup(project: string): string {
  return `corral/${project}`;
}
