import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from '../native.js';
import { log } from '../log.js';
import { projectCgroup } from '../state/paths.js';
import { procsFilesOf } from './cgroup-procs.js';
import { processRuns } from './proc-stat.js';

// The containers' monitors (conmon, one per container, and the project's supervisor) outlive the
// command that starts them, so they must leave its cgroup: when that command runs in a systemd unit
// (or a user's session scope) and the unit stops, systemd kills everything left in the unit's cgroup,
// and the containers would lose their monitors. As podman does for conmon:
// - with systemd as init, each monitor gets a transient scope of its own, in the project's slice
//   `corral-<project>.slice` under `corral.slice` (a scope can only be made for pids that exist, which
//   is what D-Bus StartTransientUnit with PIDs= does; `systemd-run --scope` would have to start the
//   monitor itself); systemd collects a scope when its process ends, and `down` stops the slice;
// - without systemd, they go into the cgroup `corral/<project>/.monitors`, beside the pods, which
//   `down` kills and removes with the rest of the project's cgroup.
// The PID namespace holders need nothing of this: they move themselves into their pod's cgroup.

/** The cgroup of the monitors without systemd, under the project's; no pod can be named so (names start with [a-z0-9]). */
const MONITORS_CGROUP = '.monitors';

/** Where systemd says it runs as init (sd_booted(3)). */
const SYSTEMD_MARKER = '/run/systemd/system';

/**
 * How long systemd may take to run the job that moves the pid into its scope (StartTransientUnit only
 * queues it), as looks and the time between them (5 s in all): a few ms on an idle host, under a
 * second on a loaded one. The monitor waits for it (conmon on its start pipe), so it must not be long.
 */
const SCOPE_LOOKS = 250;
const SCOPE_LOOK_MS = 20;

/** How long busctl may take to get its answer, in ms. */
const BUSCTL_TIMEOUT_MS = 10_000;

export type Monitor =
  | { readonly kind: 'conmon' | 'notify'; readonly pod: string; readonly container: string }
  | { readonly kind: 'supervisor' };

/** Whether systemd is the init of this host, so monitors get scopes rather than a cgroup of Corral's. */
export function systemdIsInit(): boolean {
  return existsSync(SYSTEMD_MARKER);
}

/** systemd's escaping of a unit name part (systemd-escape): `-` nests slices, so it and anything odd become \xNN. */
function escapeUnitPart(part: string): string {
  return part.replace(/[^A-Za-z0-9:_.]|^\./g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The project's slice: `corral-<project>.slice`, under `corral.slice`. */
export function projectSlice(project: string): string {
  return `corral-${escapeUnitPart(project)}.slice`;
}

/**
 * The scope of one monitor: `corral-<project>-<pod>-<container>-conmon-<pid>.scope` or
 * `corral-<project>-supervisor-<pid>.scope`. The pid keeps it apart from the scope of the monitor it
 * replaces, which systemd may not have collected yet (a recreated container, a restarted supervisor).
 */
export function monitorScope(project: string, monitor: Monitor, pid: number): string {
  const what = monitor.kind === 'supervisor' ? 'supervisor' : `${monitor.pod}-${monitor.container}-${monitor.kind}`;
  return `corral-${project}-${what}-${pid}.scope`;
}

/** The cgroup of the monitors on a host without systemd, relative to each hierarchy's root. */
export function monitorsCgroup(project: string): string {
  return `${projectCgroup(project)}/${MONITORS_CGROUP}`;
}


/** Whether `pid` sits in a cgroup whose path ends with `/name` (in any hierarchy). */
async function isIn(pid: number, name: string): Promise<boolean> {
  const lines = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch((error: NodeJS.ErrnoException) => {
    // Gone (ENOENT, or ESRCH while it exits): in no cgroup any more.
    if (error.code === 'ENOENT' || error.code === 'ESRCH') return '';
    throw error;
  });
  return lines.split('\n').some((line) => line.endsWith(`/${name}`));
}

/** StartTransientUnit of a scope holding `pid` (busctl's signature: name, mode, properties, auxiliary units). */
async function startScope(options: { unit: string; slice: string; pid: number; description: string }): Promise<void> {
  // Each property is its name, its D-Bus signature and its value (an array: its length, then its items).
  const properties: string[][] = [
    ['PIDs', 'au', '1', String(options.pid)],
    ['Slice', 's', options.slice],
    ['Description', 's', options.description],
    // Collected when its process ends, even killed or failed: nothing is left for `down` to clean.
    ['CollectMode', 's', 'inactive-or-failed'],
    // As podman's conmon scopes: what the monitor makes below its cgroup is its own, not systemd's.
    ['Delegate', 'b', 'true'],
  ];
  // Loaded here, not at the top: `ps` loads this file (to start a missing supervisor) and seldom calls it.
  const { execa } = await import('execa');
  const result = await execa('busctl', [
    'call', '--timeout', `${BUSCTL_TIMEOUT_MS / 1000}s`, 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager',
    'StartTransientUnit', 'ssa(sv)a(sa(sv))', options.unit, 'fail', String(properties.length), ...properties.flat(), '0',
  ], { reject: false, stdin: 'ignore' });
  if (result.exitCode === 0 || !processRuns(options.pid)) return;
  throw new Error(`cannot move process ${options.pid} into the systemd scope ${options.unit} (busctl call org.freedesktop.systemd1 StartTransientUnit exited ${result.exitCode}: ${String(result.stderr).trim()}); `
    + 'check that systemd\'s D-Bus API answers (systemctl status), or the containers die when the unit or session that started them ends', { cause: result });
}

/** Puts the monitor into a transient scope of its own and resolves once systemd has moved it there. */
async function placeInScope(options: { project: string; pid: number; monitor: Monitor }): Promise<void> {
  const { project, pid, monitor } = options;
  const unit = monitorScope(project, monitor, pid);
  const what = monitor.kind === 'supervisor' ? 'supervisor' : `${monitor.kind === 'conmon' ? 'conmon' : 'sd_notify keeper'} of ${monitor.pod}/${monitor.container}`;
  await startScope({ unit, slice: projectSlice(project), pid, description: `Corral ${project}: ${what}` });
  await untilIn(pid, unit);
}

/** Resolves once systemd has moved the process into the scope (StartTransientUnit only queues the job). */
async function untilIn(pid: number, unit: string): Promise<void> {
  for (let look = 0; look < SCOPE_LOOKS; look++) {
    if (!processRuns(pid) || (await isIn(pid, unit))) return;
    await sleep(SCOPE_LOOK_MS);
  }
  throw new Error(`systemd did not move process ${pid} into its scope ${unit} within ${(SCOPE_LOOKS * SCOPE_LOOK_MS) / 1000} s; see systemctl status ${unit}`);
}

/**
 * Moves a freshly started monitor out of the caller's cgroup, into its scope (systemd) or the project's
 * monitors cgroup, and resolves once it is there. A process that has already exited counts as moved.
 */
export async function placeMonitor(options: { project: string; pid: number; monitor: Monitor }): Promise<void> {
  const { project, pid, monitor } = options;
  await placeOutside({ pid, cgroup: monitorsCgroup(project), what: `${monitor.kind} of ${project}`, inScope: () => placeInScope(options) });
}

/** The cgroup of the pods' resolver without systemd: Corral's, beside the projects' (no project is named so). */
const RESOLVER_CGROUP = 'corral/.resolver';

/**
 * The pods' resolver (network/resolver.ts, one for all projects of a run dir) leaves the caller's
 * cgroup as a monitor does, but into no project's: `corral.slice`'s scope
 * `corral-resolver-<pid>.scope` with systemd, else the cgroup `corral/.resolver`, so that neither the
 * end of the unit that started it nor the `down` of the project whose `up` did ends it.
 */
export async function placeResolver(pid: number): Promise<void> {
  const unit = `corral-resolver-${pid}.scope`;
  await placeOutside({
    pid, cgroup: RESOLVER_CGROUP, what: 'the pods\' resolver',
    inScope: async () => {
      await startScope({ unit, slice: 'corral.slice', pid, description: 'Corral: the pods\' resolver (aardvark-dns)' });
      await untilIn(pid, unit);
    },
  });
}

/** Into a systemd scope when systemd is init (`inScope`), else (or when that fails) into `cgroup`. */
async function placeOutside(options: { pid: number; cgroup: string; what: string; inScope: () => Promise<void> }): Promise<void> {
  const { pid, cgroup, what } = options;
  if (systemdIsInit()) {
    try {
      return await options.inScope();
    } catch (error) {
      // As podman, which only warns when conmon gets no scope: the monitor still leaves the caller's
      // cgroup, into Corral's own (below), so the unit's end cannot kill it; systemd just does not
      // account for it. Failing the `up` instead would stop every container on a host whose D-Bus is down.
      log.warn(`${(error as Error).message}; ${what} goes into the cgroup ${cgroup} instead`);
    }
  }
  await native.createCgroup(cgroup);
  for (const file of await procsFilesOf(cgroup)) {
    await writeFile(file, `${pid}\n`).catch((error: NodeJS.ErrnoException) => {
      // It exited meanwhile: nothing left to move.
      if (error.code === 'ESRCH') return;
      throw new Error(`cannot move process ${pid} (${what}) into ${file}: ${error.code ?? error.message}`, { cause: error });
    });
  }
}

/**
 * At `down`, with systemd: stops the project's slice, which kills any monitor left in it (a conmon
 * whose container could not be removed) and lets systemd forget the slice. Without systemd the
 * monitors' cgroup goes with the project's.
 */
export async function stopMonitors(project: string): Promise<void> {
  if (!systemdIsInit()) return;
  const slice = projectSlice(project);
  const { execa } = await import('execa');
  const result = await execa('systemctl', ['stop', slice], { reject: false, stdin: 'ignore' });
  // Never made (no container was ever created) or already collected: nothing to stop.
  if (result.exitCode === 0 || /not loaded|not found/i.test(String(result.stderr))) return;
  throw new Error(`cannot stop the systemd slice ${slice} of the project's monitors (systemctl stop exited ${result.exitCode}: ${String(result.stderr).trim()}); stop it by hand: systemctl stop ${slice}`, { cause: result });
}
