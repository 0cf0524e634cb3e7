import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { eventually, inside, testRootfs, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { MARKER_FILE, QUICK_BACKOFF, rebootProjectFile, STOPPED } from '../helpers/reboot-project.js';
import { rebootObservationsFile, type BootUnitRecord, type SupervisorRecord } from './observations.js';
import { cli, ps, recorder } from './recorder.js';

// Runs INSIDE the test guest (systemd as PID 1), once per boot, started by reboot.test.ts through
// scripts/guest/run.sh, which reboots the guest between phases ($CORRAL_GUEST_PHASE):
// 1. `up -d` of the reboot project (one pod per restart policy) in Corral's default dirs, as a user
//    does, which installs corral-boot.service; one container stopped with `corral stop`.
// 2. After a real reboot: what corral-boot.service brought back; then `down`.
// 3. After another reboot: that nothing of the project came back.
// Each phase records what it sees in reboot-N.json of the job dir; the host asserts on them.

const PROJECT = 'reboot';
/** Where the project file lives: on the guest's disk, which keeps it across the reboots (unlike /tmp). */
const WORK = '/var/lib/corral-reboot-test';
const BOOT_UNIT = 'corral-boot.service';

/** How long corral-boot.service may take to finish under emulation, and the time between looks. */
const BOOT_UNIT_WAIT_MS = 300_000;
const BOOT_UNIT_LOOK_MS = 1000;
/** keep/app exits once at its first start: how long its restart may take under emulation. */
const RESTART_WAIT_MS = 120_000;

/**
 * The checkout (the Corral the boot unit runs, and the containers' rootfs) is on the guest's second
 * disk, which the job's own unit mounts only after the boot: mounted by fstab, it is there before
 * corral-boot.service, as a Corral installed on a local file system is. Not `nofail`: that would not
 * order it before local-fs.target, which the unit starts after.
 */
const FSTAB_LINE = '/dev/vdb /checkout ext4 defaults 0 0\n';

const job = process.env.CORRAL_GUEST_JOB;
const phase = Number(process.env.CORRAL_GUEST_PHASE);

/** Corral's default dirs (/run/corral, /var/lib/corral), which the installed unit boots with. */
function defaultDirs(): Sandbox {
  return {
    run: '/run/corral', state: '/var/lib/corral', work: WORK,
    env: { CORRAL_RESTART_BACKOFF: QUICK_BACKOFF },
    projectName: () => PROJECT,
    dispose: async () => {},
  };
}

const recordFile = (sandbox: Sandbox) => path.join(sandbox.state, 'boot', `${PROJECT}.json`);

async function output(command: string, args: readonly string[]): Promise<string> {
  const result = await execa(command, args, { reject: false });
  return `${String(result.stdout)}${String(result.stderr)}`.trim();
}

/** The cgroup v2 dir of a process, from its /proc/PID/cgroup line `0::/path`. */
async function cgroupOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((line) => line.startsWith('0::'))?.slice(3) ?? '';
}

async function pidsOf(pattern: string): Promise<number[]> {
  return (await output('pgrep', ['-f', pattern])).split('\n').filter(Boolean).map(Number);
}

async function supervisors(): Promise<SupervisorRecord> {
  const pids = await pidsOf(`supervise -p ${PROJECT}$`);
  return { pids, cgroup: pids[0] ? await cgroupOf(pids[0]) : undefined };
}

/** corral-boot.service once it is done (systemd orders the job after it; this makes sure). */
async function bootUnit(): Promise<BootUnitRecord> {
  const deadline = Date.now() + BOOT_UNIT_WAIT_MS;
  let properties: Record<string, string> = {};
  for (;;) {
    const text = await output('systemctl', ['show', '-p', 'ActiveState', '-p', 'Result', BOOT_UNIT]);
    properties = Object.fromEntries(text.split('\n').map((line) => line.split('=', 2) as [string, string]));
    if (properties.ActiveState !== 'activating' || Date.now() > deadline) break;
    await sleep(BOOT_UNIT_LOOK_MS);
  }
  return { activeState: properties.ActiveState ?? '', result: properties.Result ?? '', journal: await output('journalctl', ['-b', '--no-pager', '-o', 'cat', '-u', BOOT_UNIT]) };
}

const marker = async (sandbox: Sandbox) => String((await inside(sandbox, PROJECT, 'keep.app', `cat ${MARKER_FILE}`)).stdout).trim();

async function leftUp(step: ReturnType<typeof recorder>['step'], sandbox: Sandbox): Promise<void> {
  const file = path.join(WORK, 'corral.yaml');
  await step('host', async () => ({ pid1: (await readFile('/proc/1/comm', 'utf8')).trim(), cgroupFs: await output('stat', ['-f', '-c', '%T', '/sys/fs/cgroup']) }));
  await step('fstab', () => appendFile('/etc/fstab', FSTAB_LINE));
  await mkdir(WORK, { recursive: true });
  await writeFile(file, rebootProjectFile(await testRootfs()));
  await step('up', () => cli(sandbox, ['-f', file, '-p', PROJECT, 'up', '-d']));
  await step('restarted', () => eventually(async () => {
    const keep = (await ps(sandbox, PROJECT)).find((row) => row.pod === 'keep');
    return keep?.state === 'running' && keep.restarts === 1 ? keep : undefined;
  }, 'keep/app restarted once and running', RESTART_WAIT_MS));
  await step('stop', () => cli(sandbox, ['-p', PROJECT, 'stop', STOPPED]));
  await step('ps', () => ps(sandbox, PROJECT));
  await step('marker', () => marker(sandbox));
  await step('supervisor', supervisors);
  await step('serviceStatus', () => cli(sandbox, ['service', 'status']));
  await step('unitFile', () => readFile(`/etc/systemd/system/${BOOT_UNIT}`, 'utf8'));
  await step('recorded', async () => existsSync(recordFile(sandbox)));
}

async function backAfterReboot(step: ReturnType<typeof recorder>['step'], sandbox: Sandbox): Promise<void> {
  await step('bootUnit', bootUnit);
  await step('ps', () => ps(sandbox, PROJECT));
  await step('marker', () => marker(sandbox));
  await step('supervisor', supervisors);
  await step('monitors', async () => Promise.all((await pidsOf(`conmon .*${PROJECT}`)).map(cgroupOf)));
  await step('stopped', async () => JSON.parse(await readFile(path.join(sandbox.state, 'projects', PROJECT, 'stopped.json'), 'utf8')) as string[]);
  await step('diff', () => cli(sandbox, ['-f', path.join(WORK, 'corral.yaml'), '-p', PROJECT, 'diff']));
  await step('down', () => cli(sandbox, ['-p', PROJECT, 'down']));
  await step('recorded', async () => existsSync(recordFile(sandbox)));
}

async function nothingBack(step: ReturnType<typeof recorder>['step'], sandbox: Sandbox): Promise<void> {
  await step('bootUnit', bootUnit);
  await step('ps', () => ps(sandbox, PROJECT));
  await step('supervisor', supervisors);
  await step('recorded', async () => existsSync(recordFile(sandbox)));
  await step('runDir', async () => existsSync(path.join(sandbox.run, PROJECT)));
  await step('leaks', () => findLeaks({ dirs: [sandbox.run, sandbox.state], projects: [PROJECT] }));
}

async function main(): Promise<void> {
  if (!job || !phase) throw new Error('CORRAL_GUEST_JOB and CORRAL_GUEST_PHASE are not set: this program runs inside the test guest (see test/hosts/reboot.test.ts)');
  const { step } = recorder(job, rebootObservationsFile(phase));
  const phases = [leftUp, backAfterReboot, nothingBack];
  const run = phases[phase - 1];
  if (!run) throw new Error(`the reboot suite has ${phases.length} phases, not ${phase}`);
  await run(step, defaultDirs());
}

await main();
