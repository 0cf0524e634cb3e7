import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { repositoryRoot } from './sandbox.js';

// The test guest: Debian 12 with systemd as PID 1 and pure cgroup v2, booted under QEMU's emulation
// by scripts/guest/run.sh (see there: image cache, 9p job dir, snapshot disks, bounded waits). A run
// boots it once per phase: phase N runs commands[N-1] as root with the built checkout at /checkout,
// and the guest reboots between phases.

const guestScripts = path.join(repositoryRoot, 'scripts/guest');

/**
 * Whether the guest suites run: in every run of the test command, as CI's (the hosts most users have
 * are tested there); CORRAL_GUEST=0 leaves them out of a quick local run, which then says so.
 */
export const guestEnabled = process.env.CORRAL_GUEST !== '0';

/** run.sh's exit code when the guest itself failed (boot, time limit), not the command. */
const GUEST_FAILED = 125;
/** Beyond run.sh's own hard limit: the image build (minutes, once per recipe) and the checkout pack. */
const BUILD_AND_PACK_MS = 15 * 60_000;
const DEFAULT_BOOT_TIMEOUT_S = 480;

export interface GuestPhase {
  /** The command's exit code; undefined when the guest never reported one. */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GuestRun {
  /** The job dir shared with the guest (at /job there): what the commands wrote into it is here. */
  readonly job: string;
  readonly phases: readonly GuestPhase[];
  /** run.sh's exit code and stderr: 125 with the reason when the guest failed. */
  readonly exitCode: number;
  readonly stderr: string;
  /** The guest's serial console: kernel, systemd and the job unit's lines. */
  readonly console: string;
  /** run.sh's measured times, one line each. */
  readonly timings: string;
  /** The last lines of the console, for error messages. */
  consoleTail(lines?: number): string;
  /** Removes the job dir (kept when CORRAL_GUEST_KEEP=1, to look into it). */
  dispose(): Promise<void>;
}

export interface GuestRunOptions {
  /** Bash scripts, one per boot; each runs in /checkout, the job dir is $CORRAL_GUEST_JOB. */
  readonly commands: readonly string[];
  /** `restricted`: a user-mode network device that routes nothing out of the guest. */
  readonly net?: 'none' | 'restricted';
  readonly phaseTimeoutS: number;
  readonly bootTimeoutS?: number;
}

const readOrEmpty = (file: string) => readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
  if (error.code === 'ENOENT') return '';
  throw error;
});

async function readPhase(job: string, phase: number): Promise<GuestPhase> {
  const code = (await readOrEmpty(path.join(job, `exit-${phase}`))).trim();
  return {
    exitCode: code === '' ? undefined : Number(code),
    stdout: await readOrEmpty(path.join(job, `stdout-${phase}`)),
    stderr: await readOrEmpty(path.join(job, `stderr-${phase}`)),
  };
}

/** Boots the guest with this built checkout on its second disk and runs the commands, one per boot. */
export async function runInGuest(options: GuestRunOptions): Promise<GuestRun> {
  const bootTimeoutS = options.bootTimeoutS ?? DEFAULT_BOOT_TIMEOUT_S;
  const work = await mkdtemp('/var/tmp/corral-guest-');
  const job = path.join(work, 'job');
  await mkdir(job);
  for (const [index, command] of options.commands.entries()) await writeFile(path.join(job, `command-${index + 1}`), command);
  const disk = path.join(work, 'checkout.img');
  const pack = await execa('bash', [path.join(guestScripts, 'pack-checkout.sh'), disk], { reject: false, timeout: BUILD_AND_PACK_MS });
  if (pack.exitCode !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new Error(`packing the checkout for the guest failed (scripts/guest/pack-checkout.sh, exit ${pack.exitCode}): ${String(pack.stderr).trim()}`);
  }
  const hardLimitMs = options.commands.length * (bootTimeoutS + options.phaseTimeoutS) * 1000;
  const run = await execa('bash', [path.join(guestScripts, 'run.sh'), '--job', job, '--disk', disk, '--net', options.net ?? 'none',
    '--timeout', String(options.phaseTimeoutS), '--boot-timeout', String(bootTimeoutS)],
  { reject: false, timeout: hardLimitMs + BUILD_AND_PACK_MS });
  const phases: GuestPhase[] = [];
  for (let phase = 1; phase <= options.commands.length; phase++) phases.push(await readPhase(job, phase));
  const console = await readOrEmpty(path.join(job, 'console.log'));
  return {
    job, phases, console,
    exitCode: run.exitCode ?? GUEST_FAILED,
    stderr: String(run.stderr),
    timings: await readOrEmpty(path.join(job, 'timings')),
    consoleTail: (lines = 25) => console.split('\n').slice(-lines).join('\n'),
    async dispose() {
      if (process.env.CORRAL_GUEST_KEEP !== '1') await rm(work, { recursive: true, force: true });
    },
  };
}
