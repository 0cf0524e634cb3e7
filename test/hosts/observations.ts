// What the programs inside the test guest (cgroup-v2.in-guest.ts, reboot.in-guest.ts) record, step by
// step, for the suites on the host (cgroup-v2.test.ts, reboot.test.ts) to assert on: written as JSON
// into the job dir.

export const OBSERVATIONS_FILE = 'observations.json';

export interface Step {
  readonly ok: boolean;
  readonly ms: number;
  readonly value?: unknown;
  readonly error?: string;
}

export type Observations = Record<string, Step>;

/** The output of a CLI call, kept whole for the host's assertion messages. */
export interface CliRecord { exitCode: number; stdout: string; stderr: string }

export interface PsRow { pod: string; container: string; state: string; pid: number | null; restarts?: number }

/** What the pod of the limits project has in force, read where a user looks. */
export interface LimitsRecord {
  /** The container's cgroup (from /proc/PID/cgroup) and its files. */
  container: { cgroup: string; files: Record<string, string> };
  pod: { cgroup: string; files: Record<string, string> };
}

/** What the user-namespaced container reported in its log, and the guest's /run it was made under. */
export interface UsernsRecord {
  /** Options of the guest's /run mount (systemd's: nosuid,nodev,noexec). */
  runMountOptions: string | undefined;
  logs: string;
}

/** `up -d` run by a systemd unit that is then stopped: what ran, where the monitors were, what runs after. */
export interface UnitStoppedRecord {
  unit: string;
  /** The unit's cgroup, which its stop empties. */
  unitCgroup: string;
  upMs: number;
  /** systemd-run's own output and exit (that of starting the unit, which waits for `up -d` to end). */
  run: CliRecord;
  journal: string;
  before: PsRow[];
  /** conmons and the supervisor: pid, name, cgroup (v2 path). */
  monitors: { pid: number; command: string; cgroup: string }[];
  /** `systemctl status` of the project's slice. */
  slice: string;
  stopExitCode: number;
  after: PsRow[];
  /** Whether each monitor still runs after the stop. */
  alive: { pid: number; alive: boolean }[];
}

/** The reboot suite's record of one phase, `reboot-N.json`. */
export const rebootObservationsFile = (phase: number) => `reboot-${phase}.json`;

/** corral-boot.service as systemd reports it at a phase's start, and what it logged this boot. */
export interface BootUnitRecord {
  activeState: string;
  result: string;
  /** `journalctl -b -u corral-boot.service`. */
  journal: string;
}

/** The project's supervisor processes (`corral supervise -p NAME`) and where the first one sits. */
export interface SupervisorRecord {
  pids: number[];
  cgroup?: string;
}

/** What the container's own process (pid 1 inside) runs under, and the cap on its nofile limit. */
export interface SecurityRecord extends CliRecord {
  /** The hard RLIMIT_NOFILE of the program in the guest that ran `up`: the container's can be no higher. */
  hostNofileHard: number;
}

/** `pause` and `unpause` of a container on v2: its cgroup.freeze, cgroup.events' frozen, and ps, after each. */
export interface PauseRecord {
  pause: CliRecord;
  whilePaused: { freeze: string; frozen: string; state: string };
  unpause: CliRecord;
  afterUnpause: { freeze: string; frozen: string; state: string };
}

/** The checkpoint suite's record (checkpoint.in-guest.ts). */
export const CHECKPOINT_OBSERVATIONS_FILE = 'checkpoint.json';

/** A count read twice, some seconds apart, and the container's state then. */
/** How long a checkpointed container must stand still in the guest: a restart policy would have started it again by then. */
export const CHECKPOINT_STILL_MS = 4000;

export interface CountRecord {
  before: number[];
  after: number[];
  state: string;
  pid: number | null;
  restarts: number;
  /** The actions `corral events` told of the project until then. */
  actions: string[];
}
