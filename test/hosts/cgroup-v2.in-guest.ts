import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cliEntry, createSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { placeMonitor, projectSlice, stopMonitors } from '../../src/runtime/monitors.js';
import { projectCgroup } from '../../src/state/paths.js';
import { OBSERVATIONS_FILE, type LimitsRecord, type PauseRecord, type SecurityRecord, type UnitStoppedRecord } from './observations.js';
import { cli, ps, recorder } from './recorder.js';

// Runs INSIDE the test guest (systemd as PID 1, pure cgroup v2), started by cgroup-v2.test.ts through
// scripts/guest/run.sh with the built checkout at /checkout. It does what a user does with Corral
// (up -d of a pod, ps, its limits, down) and records what it sees, step by step, into
// $CORRAL_GUEST_JOB/observations.json; the suite on the host asserts on that record (observations.ts).
// A step that fails is recorded with its error and the next steps still run, so one boot of the
// guest tells about every check.

/** Under emulation (and a busy host) a command takes many times as long as here. */
const CLI_TIMEOUT_MS = 300_000;
const LIMIT_FILES = ['memory.max', 'memory.low', 'cpu.max', 'pids.max'];

// One pod of two containers, one with limits, the pod with limits of its own.
const PROJECT_FILE = [
  'pods:',
  '  box:',
  '    resources: { memory: 256m, pids: 200 }',
  '    containers:',
  '      limited:',
  '        rootfs: ${CORRAL_ROOTFS}',
  '        command: [sh, -c, "trap \'exit 0\' TERM; sleep 3600 & wait"]',
  '        resources: { cpus: 0.5, memory: 64m, pids: 50 }',
  '      peer:',
  '        rootfs: ${CORRAL_ROOTFS}',
  '        command: [sh, -c, "trap \'exit 0\' TERM; sleep 3600 & wait"]',
  '',
].join('\n');

// A user-namespaced container: under systemd the run dir is on /run, a nosuid,nodev,noexec tmpfs
// whose flags the binds of the pod files must keep. It reports in its log (runc 1.1 cannot exec into
// it): its uid map, its uid, the options of its /etc/hosts mount.
const USERNS_PROJECT_FILE = [
  'pods:',
  '  mapped:',
  '    containers:',
  '      root:',
  '        rootfs: ${CORRAL_ROOTFS}',
  '        userns: auto',
  '        command: [sh, -c, "cat /proc/self/uid_map; id -u; while read id parent dev root point options rest; do [ $$point = /etc/hosts ] && echo hosts $$options; done < /proc/self/mountinfo; echo reported; trap \'exit 0\' TERM; sleep 3600 & wait"]',
  '',
].join('\n');
const USERNS_REPORT_TIMEOUT_MS = 120_000;

// One container, its `up -d` run by a systemd unit that is then stopped: systemd kills what is left
// in the unit's cgroup, which must not be the container's monitors.
const UNIT_PROJECT_FILE = [
  'pods:',
  '  kept:',
  '    network: none',
  '    containers:',
  '      main:',
  '        rootfs: ${CORRAL_ROOTFS}',
  '        command: [sh, -c, "trap \'exit 0\' TERM; sleep 3600 & wait"]',
  '',
].join('\n');
/** How many placements the cost of a scope is measured over. */
const SCOPE_COST_SAMPLES = 5;

/**
 * What a monitor's scope costs, in ms, each way: moving a live pid with StartTransientUnit (busctl, and
 * waiting until it is in), as Corral does, and `systemd-run --scope true`, which starts its command itself.
 */
async function measureScopeCost(project: string): Promise<{ placeMs: number[]; systemdRunScopeMs: number[] }> {
  const placeMs: number[] = [];
  const systemdRunScopeMs: number[] = [];
  for (let sample = 0; sample < SCOPE_COST_SAMPLES; sample++) {
    const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    let started = Date.now();
    await placeMonitor({ project, pid: sleeper.pid!, monitor: { kind: 'supervisor' } });
    placeMs.push(Date.now() - started);
    sleeper.kill('SIGKILL');
    started = Date.now();
    await execa('systemd-run', ['--scope', '--quiet', `--slice=${projectSlice(project)}`, 'true']);
    systemdRunScopeMs.push(Date.now() - started);
  }
  await stopMonitors(project);
  return { placeMs, systemdRunScopeMs };
}

/** After the unit stopped, how long the containers must go on running to count as having outlived it. */
const AFTER_UNIT_STOP_MS = 3000;

const job = process.env.CORRAL_GUEST_JOB;
const { step } = recorder(job ?? '', OBSERVATIONS_FILE);

/** The mount options of the mount at `point`, from this process's mountinfo. */
async function mountOptionsAt(point: string): Promise<string | undefined> {
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((line) => line.split(' '));
  return lines.filter((fields) => fields[4] === point).at(-1)?.[5];
}

/** The cgroup v2 dir of a process, from its /proc/PID/cgroup line `0::/path`. */
async function cgroupOf(pid: number): Promise<string> {
  const line = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((entry) => entry.startsWith('0::'));
  if (!line) throw new Error(`/proc/${pid}/cgroup has no cgroup v2 line (0::): is this a v2 host?`);
  return line.slice(3);
}

async function readCgroupFiles(cgroup: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const file of LIMIT_FILES) files[file] = (await readFile(path.join('/sys/fs/cgroup', cgroup, file), 'utf8')).trim();
  return files;
}

async function hostFacts() {
  return {
    cgroupFs: String((await execa('stat', ['-f', '-c', '%T', '/sys/fs/cgroup'])).stdout).trim(),
    pid1: (await readFile('/proc/1/comm', 'utf8')).trim(),
    controllers: (await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8')).trim(),
    kernel: String((await execa('uname', ['-r'])).stdout).trim(),
    ownCgroup: await cgroupOf(process.pid),
  };
}

/** The pids of the project's conmons (their command lines name the project's containers). */
async function conmonsOf(project: string): Promise<number[]> {
  return String((await execa('pgrep', ['-f', `conmon .*${project}`], { reject: false })).stdout).split('\n').filter(Boolean).map(Number);
}

/**
 * `up -d` run by a transient oneshot unit that stays active after it (RemainAfterExit), as a user's
 * service or session would; then the unit is stopped, which kills what is left in its cgroup.
 */
async function upFromUnitThenStopIt(sandbox: Sandbox, project: string): Promise<UnitStoppedRecord> {
  const file = path.join(sandbox.work, 'unit.yaml');
  await writeFile(file, UNIT_PROJECT_FILE);
  const unit = `corral-test-up-${process.pid}.service`;
  const setenv = Object.entries(sandbox.env).map(([name, value]) => `--setenv=${name}=${value}`);
  const started = Date.now();
  // Type=oneshot: systemd-run returns once `up -d` has exited, the unit then active (exited).
  const run = await execa('systemd-run', [`--unit=${unit}`, '-p', 'Type=oneshot', '-p', 'RemainAfterExit=yes', ...setenv,
    process.execPath, cliEntry, '-f', file, '-p', project, 'up', '-d'], { reject: false, timeout: CLI_TIMEOUT_MS });
  const upMs = Date.now() - started;
  const unitCgroup = `/system.slice/${unit}`;
  const before = await ps(sandbox, project);
  const monitors = await Promise.all([...(await conmonsOf(project)), ...String((await execa('pgrep', ['-f', `supervise -p ${project}$`], { reject: false })).stdout).split('\n').filter(Boolean).map(Number)]
    .map(async (pid) => ({ pid, command: (await readFile(`/proc/${pid}/comm`, 'utf8')).trim(), cgroup: await cgroupOf(pid) })));
  const slice = String((await execa('systemctl', ['status', '--no-pager', projectSlice(project)], { reject: false })).stdout);
  const stop = await execa('systemctl', ['stop', unit], { reject: false });
  await new Promise((resolve) => setTimeout(resolve, AFTER_UNIT_STOP_MS));
  const after = await ps(sandbox, project);
  const alive = monitors.map(({ pid }) => ({ pid, alive: existsSync(`/proc/${pid}`) }));
  return {
    unit, unitCgroup, upMs,
    run: { exitCode: run.exitCode ?? -1, stdout: String(run.stdout), stderr: String(run.stderr) },
    journal: String((await execa('journalctl', ['--no-pager', '-u', unit], { reject: false })).stdout),
    before, monitors, slice, stopExitCode: stop.exitCode ?? -1, after, alive,
  };
}

/** The hard RLIMIT_NOFILE this program runs with (the unit's), which caps what a container gets. */
async function hardNofileOfThisProcess(): Promise<number> {
  const line = (await readFile('/proc/self/limits', 'utf8')).split('\n').find((entry) => entry.startsWith('Max open files'));
  return Number(line?.split(/\s{2,}/)[2]);
}

async function isZombie(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.startsWith('Z') ?? false;
}

/**
 * A process that no container knows of, in a cgroup of its own below the project's (as a crash can
 * leave one): `down` must kill it (cgroup.kill on v2) and remove the cgroup.
 */
async function placeStrayProcess(project: string): Promise<{ pid: number; cgroupDir: string }> {
  const cgroupDir = path.join('/sys/fs/cgroup', projectCgroup(project), 'stray');
  await mkdir(cgroupDir);
  const sleeper = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
  sleeper.unref();
  await writeFile(path.join(cgroupDir, 'cgroup.procs'), `${sleeper.pid}\n`);
  return { pid: sleeper.pid!, cgroupDir };
}

/** How many containers each cgroup driver of runc is timed over. */
const DRIVER_SAMPLES = 5;

/**
 * runc's two ways of making a container's cgroup, timed on this host for the README's choice:
 * cgroupfs (a directory Corral names, as Corral does today) and systemd (`--systemd-cgroup`: a
 * transient scope in a slice, made over D-Bus, as podman does by default). Each sample runs a
 * container detached and deletes it; the cgroup it got is recorded.
 */
async function measureCgroupDrivers(rootfs: string, work: string): Promise<Record<string, { runMs: number[]; deleteMs: number[]; cgroups: string[] }>> {
  const root = path.join(work, 'runc-drivers');
  const bundle = path.join(work, 'driver-bundle');
  await mkdir(bundle, { recursive: true });
  await execa('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['sleep', '60'];
  spec.root = { path: rootfs, readonly: true };
  const results: Record<string, { runMs: number[]; deleteMs: number[]; cgroups: string[] }> = {};
  for (const driver of ['cgroupfs', 'systemd'] as const) {
    const result = { runMs: [] as number[], deleteMs: [] as number[], cgroups: [] as string[] };
    for (let sample = 0; sample < DRIVER_SAMPLES; sample++) {
      const id = `driver-${driver}-${sample}`;
      spec.linux.cgroupsPath = driver === 'systemd' ? `corral-bench.slice:corral:${id}` : `/corral-bench/${id}`;
      await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const global = ['--root', root, ...(driver === 'systemd' ? ['--systemd-cgroup'] : [])];
      let started = Date.now();
      await execa('runc', [...global, 'run', '-d', '--bundle', bundle, '--pid-file', path.join(bundle, 'pid'), id], { stdio: 'ignore' });
      result.runMs.push(Date.now() - started);
      result.cgroups.push(await cgroupOf(Number(await readFile(path.join(bundle, 'pid'), 'utf8'))));
      started = Date.now();
      await execa('runc', [...global, 'delete', '--force', id]);
      result.deleteMs.push(Date.now() - started);
    }
    results[driver] = result;
  }
  await execa('rmdir', ['/sys/fs/cgroup/corral-bench'], { reject: false });
  await execa('systemctl', ['stop', 'corral-bench.slice'], { reject: false });
  return results;
}

async function main(): Promise<void> {
  if (!job) throw new Error('CORRAL_GUEST_JOB is not set: this program runs inside the test guest (see test/hosts/cgroup-v2.test.ts)');
  await step('host', hostFacts);
  const sandbox = await createSandbox('v2');
  const project = sandbox.projectName('pod');
  const file = path.join(sandbox.work, 'corral.yaml');
  await writeFile(file, PROJECT_FILE);

  await step('up', () => cli(sandbox, ['-f', file, '-p', project, 'up', '-d']));
  const rows = await step('ps', () => ps(sandbox, project));
  // Where the monitors of the containers sit: under systemd they must outlive the unit that ran `up`.
  await step('conmonCgroups', async () => {
    const conmons = String((await execa('pgrep', ['-f', `conmon .*${project}`], { reject: false })).stdout).split('\n').filter(Boolean).map(Number);
    return { jobCgroup: await cgroupOf(process.pid), conmons: await Promise.all(conmons.map(cgroupOf)) };
  });
  await step('limits', async (): Promise<LimitsRecord> => {
    const row = rows?.find((entry) => entry.container === 'limited');
    if (!row?.pid) throw new Error(`the limited container has no pid: ${JSON.stringify(rows)}`);
    const cgroup = await cgroupOf(row.pid);
    const podCgroup = path.dirname(cgroup);
    return { container: { cgroup, files: await readCgroupFiles(cgroup) }, pod: { cgroup: podCgroup, files: await readCgroupFiles(podCgroup) } };
  });
  // Corral's cgroups sit outside any systemd unit (the cgroupfs way, README "Test hosts"): systemd
  // re-realizes its own tree on a daemon-reload, which must leave Corral's limits and controllers be.
  await step('limitsAfterDaemonReload', async (): Promise<LimitsRecord> => {
    await execa('systemctl', ['daemon-reload']);
    const row = rows?.find((entry) => entry.container === 'limited');
    if (!row?.pid) throw new Error(`the limited container has no pid: ${JSON.stringify(rows)}`);
    const cgroup = await cgroupOf(row.pid);
    const podCgroup = path.dirname(cgroup);
    return { container: { cgroup, files: await readCgroupFiles(cgroup) }, pod: { cgroup: podCgroup, files: await readCgroupFiles(podCgroup) } };
  });
  await step('seenInside', async () => {
    const seen = await inside(sandbox, project, 'box.limited', 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max', CLI_TIMEOUT_MS);
    return { exitCode: seen.exitCode, stdout: String(seen.stdout), stderr: String(seen.stderr) };
  });

  await step('security', async (): Promise<SecurityRecord> => {
    const seen = await inside(sandbox, project, 'box.limited', "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/1/status; grep 'Max open files' /proc/1/limits; (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo proc-sys-writable || echo proc-sys-read-only", CLI_TIMEOUT_MS);
    return { exitCode: seen.exitCode ?? -1, stdout: String(seen.stdout), stderr: String(seen.stderr), hostNofileHard: await hardNofileOfThisProcess() };
  });
  // pause on v2 is cgroup.freeze: the container's cgroup says 1 and cgroup.events `frozen 1`; ps says paused.
  await step('paused', async (): Promise<PauseRecord> => {
    const row = rows?.find((entry) => entry.container === 'limited');
    if (!row?.pid) throw new Error(`the limited container has no pid: ${JSON.stringify(rows)}`);
    const dir = path.join('/sys/fs/cgroup', await cgroupOf(row.pid));
    const freezeFiles = async () => ({
      freeze: (await readFile(path.join(dir, 'cgroup.freeze'), 'utf8')).trim(),
      frozen: /^frozen (\d)$/m.exec(await readFile(path.join(dir, 'cgroup.events'), 'utf8'))?.[1] ?? '',
    });
    const pause = await cli(sandbox, ['-p', project, 'pause', 'box/limited']);
    const whilePaused = { ...(await freezeFiles()), state: (await ps(sandbox, project)).find((entry) => entry.container === 'limited')?.state ?? '' };
    const unpause = await cli(sandbox, ['-p', project, 'unpause', 'box/limited']);
    const afterUnpause = { ...(await freezeFiles()), state: (await ps(sandbox, project)).find((entry) => entry.container === 'limited')?.state ?? '' };
    return { pause, whilePaused, unpause, afterUnpause };
  });
  const stray = await step('strayPlaced', () => placeStrayProcess(project));

  await step('down', () => cli(sandbox, ['-p', project, 'down']));
  await step('strayGone', async () => ({ alive: stray ? existsSync(`/proc/${stray.pid}`) && !(await isZombie(stray.pid)) : true, cgroupLeft: stray ? existsSync(stray.cgroupDir) : true }));
  await step('pidsGone', async () => (rows ?? []).filter((row) => row.pid).map((row) => ({ pid: row.pid, alive: existsSync(`/proc/${row.pid}`) })));

  const usernsProject = sandbox.projectName('userns');
  const usernsFile = path.join(sandbox.work, 'userns.yaml');
  await writeFile(usernsFile, USERNS_PROJECT_FILE);
  await step('usernsUp', () => cli(sandbox, ['-f', usernsFile, '-p', usernsProject, 'up', '-d']));
  await step('usernsReport', async () => {
    const logs = await eventually(async () => {
      const result = await cli(sandbox, ['-p', usernsProject, 'logs', 'mapped/root']);
      return result.stdout.includes('reported') ? result.stdout : undefined;
    }, 'the report of the user-namespaced container', USERNS_REPORT_TIMEOUT_MS);
    return { runMountOptions: await mountOptionsAt('/run'), logs };
  });
  await step('usernsDown', () => cli(sandbox, ['-p', usernsProject, 'down']));
  const unitProject = sandbox.projectName('unit');
  await step('unitStopped', () => upFromUnitThenStopIt(sandbox, unitProject));
  await step('unitDown', () => cli(sandbox, ['-p', unitProject, 'down']));
  await step('scopeCost', () => measureScopeCost(sandbox.projectName('cost')));
  await step('cgroupDrivers', () => measureCgroupDrivers(sandbox.env.CORRAL_ROOTFS!, sandbox.work));
  await step('leaks', () => findLeaks({ dirs: [sandbox.run, sandbox.state], projects: [project, usernsProject, unitProject] }));
  await sandbox.dispose();
}

await main();
