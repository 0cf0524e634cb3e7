// The desired model: what the project file asks for, after parsing, validation, interpolation and
// normalisation. Every later stage (plan, runtime, machines) reads only this, never the raw YAML.
// All paths are absolute, all sizes are bytes, all defaults are filled in, and the objects are frozen.

import type { ProjectOrigin } from '../state/boot-records.js';
import type { Where } from './errors.js';

/** Namespaces a pod can share among its containers (net, ipc, uts pinned; pid held by a pause process). */
export type SharedNamespace = 'net' | 'ipc' | 'uts' | 'pid';

/** Which namespace of a kind a container is in. */
export type NamespaceMode =
  | { readonly kind: 'pod' }
  | { readonly kind: 'host' }
  /** A private one of its own. */
  | { readonly kind: 'none' }
  | { readonly kind: 'container'; readonly pod: string; readonly container: string };

/** A user namespace: container ids mapped onto host ids. */
export interface IdMapping {
  readonly containerId: number;
  readonly hostId: number;
  readonly size: number;
}

/** auto: a range of 65536 host ids of its own, chosen at create time. */
export type UserNamespace = { readonly auto: true } | { readonly uidMappings: readonly IdMapping[]; readonly gidMappings: readonly IdMapping[] };

/** A secret or config as a read-only file in the container. Its content is part of the config hash. */
export interface ProvidedFile {
  readonly kind: 'secret' | 'config';
  /** Name of the top-level secret or config. */
  readonly name: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly mode: number;
  /** Owner inside the container; undefined: the container's user. */
  readonly uid?: number;
  readonly gid?: number;
  readonly content: string;
}

export interface Project extends ProjectOrigin {
  /** Project name: [a-z0-9][a-z0-9_-]*, from `name:`, `-p`, or the project directory's name. */
  readonly name: string;
  /** Sorted by name. */
  readonly pods: readonly Pod[];
  /** Sorted by name. */
  readonly volumes: readonly Volume[];
  /** The project's networks, each a bridge of its own; always holds `default`. Sorted by name. */
  readonly networks: readonly ProjectNetwork[];
  /**
   * Where each fixed host port is published in the file, by pod and `HOSTPORT/PROTOCOL`: for `up` to
   * refuse one that another project publishes, at its line. Absent when no pod fixes one.
   */
  readonly publishedPortsAt?: Readonly<Record<string, Readonly<Record<string, Where>>>>;
}

/** The extra_hosts address that means the host's address on the pod's first network. */
export const HOST_GATEWAY = 'host-gateway';

/** The network pods join when they name none. */
export const DEFAULT_NETWORK = 'default';

export interface ProjectNetwork {
  readonly name: string;
  /** CIDR from the file; undefined: a free /24 is chosen when the first pod joins. */
  readonly subnet?: string;
  /** No route out of the network (no default route, no masquerade), as compose's `internal: true`. */
  readonly internal: boolean;
  /**
   * A host-wide network that this project uses but does not own (`external: true`): made by
   * `corral network create`, shared with other projects, left by `down`. Absent for the project's own.
   */
  readonly external?: ExternalNetwork;
}

/** Where an external network comes from: its host-wide name, and where the file names it (for the error when it is missing). */
export interface ExternalNetwork {
  /** Its name on the host (`corral network ls`): `name:` of the definition, else its key. */
  readonly name: string;
  /** The definition in the project file, `file:line:col`, for the error when the host has no such network. */
  readonly where: { readonly file: string; readonly line: number; readonly col: number; readonly path: string };
}

/** A pod's place on one network of the project. */
export interface NetworkMembership {
  /** A network of the project (`Project.networks`). */
  readonly name: string;
  /** More names the pod is found by, on this network only. */
  readonly aliases: readonly string[];
  /** A fixed address in the network's subnet; undefined: the next free one. */
  readonly ipv4Address?: string;
  /** The interface's MAC address (aa:bb:cc:dd:ee:ff); undefined: the kernel's random one. */
  readonly macAddress?: string;
  /** The interface's name in the pod; undefined: eth0, eth1, ... in order. */
  readonly interfaceName?: string;
}

/** A name another pod is known by in this pod alone (compose's `links: [db:database]`). */
export interface PodLink {
  /** The pod linked to. */
  readonly pod: string;
  /** The name it is found by, in the linking pod's /etc/hosts. */
  readonly alias: string;
}

/** A port published on the host. */
export interface PortMapping {
  /** Host address to listen on; '' for all. */
  readonly hostIp: string;
  /** 0: a free port is chosen when the pod is attached. */
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

export interface PodNetwork {
  /** bridge: the project's networks (networks); host: the host's; none: loopback only. */
  readonly mode: 'bridge' | 'host' | 'none';
  /** The pod's and its containers' ports, sorted. */
  readonly ports: readonly PortMapping[];
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  /** `ip` may be HOST_GATEWAY. */
  readonly extraHosts: readonly { readonly host: string; readonly ip: string }[];
  /**
   * The networks the pod is on (bridge only; empty otherwise), in the order written: the first gets
   * eth0, and the first that is not internal the default route and the published ports.
   */
  readonly networks: readonly NetworkMembership[];
  /** Other pods under names of this pod's own (compose's links); absent when none. */
  readonly links?: readonly PodLink[];
}

export interface Pod {
  readonly name: string;
  /** Namespaces pinned for the pod and joined by each container (default: net, ipc, uts). */
  readonly share: readonly SharedNamespace[];
  /** Size of the pod's /dev/shm tmpfs in bytes (default 64 MiB). */
  readonly shmSize: number;
  /** Hostname inside the pod (default: the pod name). */
  readonly hostname: string;
  /** Limits of the pod's parent cgroup, shared by all its containers. */
  readonly resources: Resources;
  readonly network: PodNetwork;
  /** Recorded as annotations of each of its containers (under the containers' own). */
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted by name. */
  readonly containers: readonly Container[];
}

/** cgroup limits; an absent field means no limit. */
export interface Resources {
  /** CPU time in CPUs (0.5 = 50 ms of each 100 ms). */
  readonly cpus?: number;
  readonly memoryBytes?: number;
  readonly memoryReservationBytes?: number;
  readonly pidsLimit?: number;
}

/** What the container may do to the kernel. */
export interface Security {
  readonly privileged: boolean;
  /** Capability names with the CAP_ prefix; "ALL" stands for every capability. */
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly readOnlyRootfs: boolean;
  readonly noNewPrivileges: boolean;
  /** `default` (containers-common's profile), `unconfined`, or the absolute path of a profile file. */
  readonly seccomp: string;
  /** Namespaced sysctls only (checked by the loader), values as strings. */
  readonly sysctls: Readonly<Record<string, string>>;
  /** rlimits by name (nofile, nproc, ...). */
  readonly ulimits: Readonly<Record<string, { readonly soft: number; readonly hard: number }>>;
}

export interface Container {
  readonly name: string;
  /** Name of the pod this container belongs to. */
  readonly pod: string;
  /** Absolute path of the root filesystem directory (an unpacked image); used read-only as the overlay's lower dir. '' with image. */
  readonly rootfs: string;
  /** The process to run: entrypoint followed by command, as one argv. Never empty once images are resolved. */
  readonly argv: readonly string[];
  /** Environment, sorted by key when serialised. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory inside the container (default "/"); created if missing. */
  readonly workdir: string;
  /** User as written: "name", "uid", "name:group" or "uid:gid" (default "0:0"); resolved against the rootfs' /etc/passwd and /etc/group at create time. */
  readonly user: string;
  readonly mounts: readonly Mount[];
  readonly resources: Resources;
  readonly security: Security;
  /** Restarts, stopping, health and what must be ready first. */
  readonly lifecycle: Lifecycle;
  /** An init container: runs to completion (exit 0) before the pod's other containers start. */
  readonly init?: true;
  /** Host device nodes made in the container and allowed by its device cgroup; absent: none. */
  readonly devices?: readonly DeviceMapping[];
  /** catatonit runs as PID 1 before argv, reaping orphans and passing signals on (the file's `init: true`). */
  readonly initProcess?: true;
  /** `corral watch` rules (not part of what the container is: a change recreates nothing). */
  readonly watch?: readonly WatchRule[];
  /** The image the root comes from (instead of rootfs), with what the file overrides of its config. */
  readonly image?: ContainerImage;
  /** A hostname of its own (then a UTS namespace of its own); undefined: the pod's. */
  readonly hostname?: string;
  /** Recorded as annotations of its OCI spec. */
  readonly labels: Readonly<Record<string, string>>;
  readonly namespaces: { readonly network: NamespaceMode; readonly ipc: NamespaceMode; readonly pid: NamespaceMode };
  readonly userns?: UserNamespace;
  /** Secrets (at /run/secrets/NAME) and configs, sorted by target. */
  readonly files: readonly ProvidedFile[];
  /** A terminal for its process (compose's `tty`): conmon holds the pty's other end, `attach` reaches it. */
  readonly tty?: true;
  /** Its stdin kept open for `attach` (compose's `stdin_open`); otherwise it reads end of file at once. */
  readonly stdinOpen?: true;
  /** What compose calls the container (`container_name`), shown by `ps`; not hashed: a name, not a setting. */
  readonly containerName?: string;
}

/** A host device node given to a container. */
export interface DeviceMapping {
  /** Absolute path of the node on the host. */
  readonly hostPath: string;
  /** Absolute path in the container. */
  readonly containerPath: string;
  /** What the cgroup lets the container do with it: r, w, m (mknod), in that order. */
  readonly permissions: string;
}

export interface WatchRule {
  /** Absolute host path. */
  readonly path: string;
  readonly action: 'sync' | 'sync+restart' | 'sync+exec' | 'restart' | 'recreate' | 'rebuild';
  readonly target?: string;
  /** sync+exec's command, run as a hook is (its own user, directory, environment, privileges). */
  readonly exec?: Hook;
  readonly ignore: readonly string[];
  /** gitignore-style patterns: when given, only the files they match count (ignore still applies). */
  readonly include?: readonly string[];
  readonly initialSync: boolean;
}

/**
 * How an image is built with buildah. Settings a file does not write stay absent, so an image built
 * before they existed is not taken as built differently (images/build-record.ts).
 */
export interface ImageBuild {
  /** Absolute. */
  readonly context: string;
  /** Relative to the context; with dockerfileInline, the name the build gives its Dockerfile. */
  readonly dockerfile: string;
  /** The Dockerfile's text, written to a file outside the context for the build. */
  readonly dockerfileInline?: string;
  /** Build arguments (ARG), with values from the environment already in. */
  readonly args?: Readonly<Record<string, string>>;
  /** The stage of a multi-stage Dockerfile to build. */
  readonly target?: string;
  /** Labels the built image gets. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Top-level secrets the build may read, with their content (read while loading, as containers' are). */
  readonly secrets?: readonly { readonly id: string; readonly content: string }[];
  readonly noCache?: true;
  /** Pull the base images again even when buildah has them. */
  readonly pull?: true;
}

export interface ContainerImage {
  readonly ref: string;
  readonly build?: ImageBuild;
  /** build (compose's): built again on every `up`, as with `up --build`; only with build:. */
  readonly pullPolicy: 'missing' | 'always' | 'never' | 'build';
  /** As written in the file; undefined: the image's. */
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  /** Keys the file sets that the image's config would otherwise fill in (stop_signal, healthcheck). */
  readonly fromFile?: readonly ('stop_signal' | 'healthcheck')[];
  /** Filled in when the image is resolved (before planning): its id and its layer dirs, bottom first. */
  readonly id?: string;
  readonly layers?: readonly string[];
  /** The image's ExposedPorts ("80/tcp"), recorded; publishing stays the file's `ports:`. */
  readonly exposedPorts?: readonly string[];
}

/** When a container is restarted (`on-failure` counts failures up to maxRetries when given). */
export interface RestartPolicy {
  readonly name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  readonly maxRetries?: number;
}

/** One health probe: a command inside the container, or a connection made from inside the pod's network. */
export type Probe =
  | { readonly kind: 'exec'; readonly argv: readonly string[] }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'http'; readonly host: string; readonly port: number; readonly path: string }
  /** sd_notify: healthy once the container's process sent READY=1 to $NOTIFY_SOCKET (and, with a watchdog, while WATCHDOG=1 keeps coming). */
  | { readonly kind: 'notify'; readonly watchdogMs?: number };

export interface Healthcheck {
  readonly probe: Probe;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failures in a row that make the container unhealthy. */
  readonly retries: number;
  /** After a start, failures in this window do not count. */
  readonly startPeriodMs: number;
  /** Time between probes during the start period. */
  readonly startIntervalMs: number;
}

export type DependencyCondition = 'started' | 'healthy' | 'completed';

/** A container that must reach `condition` before this one starts. */
export interface Dependency {
  /** `pod/container`. */
  readonly resource: string;
  readonly condition: DependencyCondition;
}

export interface Lifecycle {
  readonly restart: RestartPolicy;
  /** Signal name without SIG, e.g. TERM, or a number as text. */
  readonly stopSignal: string;
  readonly stopGraceMs: number;
  readonly healthcheck?: Healthcheck;
  /** Sorted by resource; every resource names a container of the project. */
  readonly dependsOn: readonly Dependency[];
  /** Run in the container after it starts (compose's post_start); absent: none. */
  readonly postStart?: readonly Hook[];
  /** Run in the container before the stop signal (compose's pre_stop); absent: none. */
  readonly preStop?: readonly Hook[];
}

/** A command run in a running container at a point of its life, as `exec` runs one. */
export interface Hook {
  readonly argv: readonly string[];
  /** As written (name, uid, name:group, uid:gid); undefined: the container's. */
  readonly user?: string;
  readonly privileged: boolean;
  readonly workdir?: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A mount of a volume (named, bind or tmpfs) into a container. */
export interface Mount {
  /** Name of a project volume, or undefined for an inline bind mount. */
  readonly volume?: string;
  readonly type: 'named' | 'bind' | 'tmpfs';
  /** For binds: absolute host path. For named volumes: filled in by the runtime (the volume's data dir). Empty for tmpfs. */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly readOnly: boolean;
  /** named and bind: mount only this relative directory of the source (resolved inside it at create time). */
  readonly subpath?: string;
  /** bind: create the host directory when it is missing, instead of refusing. */
  readonly createHostPath?: boolean;
  /** tmpfs only: size in bytes (0 = kernel default) and octal mode. */
  readonly size?: number;
  readonly mode?: number;
  /** tmpfs only: the owner of its root (container ids), as compose's `uid=`/`gid=` options. */
  readonly uid?: number;
  readonly gid?: number;
  /** A volume of the container's own for one of its image's VOLUME paths, seeded from the image when first made. */
  readonly anonymous?: true;
  /** named only: the volume is the host's, not the project's (its definition's `name:` or `external:`). */
  readonly host?: HostVolumeMount;
}

/**
 * A named volume that lives outside the project, under a host-wide name, so that several projects
 * can use it (compose's `name:` and `external: true`): under the state dir's volumes/, as
 * `corral volume create NAME` makes one.
 */
export interface HostVolume extends HostVolumeMount {
  /** The definition in the project file, for the error when an external one is missing. */
  readonly where: { readonly file: string; readonly line: number; readonly col: number; readonly path: string };
}

/** What a mount needs of a host volume: which one, and whether `up` may make it. */
export interface HostVolumeMount {
  /** Its name on the host (`corral volume ls`). */
  readonly name: string;
  /** Made before, by `volume create` or another project: `up` never makes it, `down -v` never removes it. */
  readonly external: boolean;
}

export type Volume =
  | { readonly name: string; readonly type: 'named'; readonly host?: HostVolume }
  | { readonly name: string; readonly type: 'bind'; readonly source: string; readonly createHostPath: boolean }
  | { readonly name: string; readonly type: 'tmpfs'; readonly size: number; readonly mode: number };
