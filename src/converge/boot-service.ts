import { lstat, mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { systemdIsInit } from '../runtime/monitors.js';
import { writeFileAtomic } from '../state/atomic.js';
import { pathExists } from '../state/read.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { cliEntry } from '../supervisor/launch.js';

// What runs `corral boot` when the host starts. With systemd as init: a oneshot unit, installed once by
// the first `up -d` (or `corral service install`), enabled in multi-user.target, after the local file
// systems and the network. The containers' monitors leave its cgroup (runtime/monitors.ts), so its
// end kills none of them. Without systemd nothing is installed: the user is told what to add to the
// init system, and `corral up` of a project keeps bringing all of it back.

export const BOOT_UNIT = 'corral-boot.service';

/** Where units of the local administrator go (systemd.unit(5)), and the target that boots with them. */
const UNIT_DIR = '/etc/systemd/system';
const WANTED_BY = 'multi-user.target';

/**
 * What boot may take, in seconds: every recorded project, its pods and containers, under emulation or
 * a slow disk. A oneshot unit has no start timeout by default; a boot that hangs should fail, visibly.
 */
const BOOT_TIMEOUT_S = 900;

/** How long one systemctl call may take, in ms. */
const SYSTEMCTL_TIMEOUT_MS = 60_000;

/**
 * The settings of the installing Corral that its boot must share: where its projects are, which
 * runtime and monitor it uses. Set in the environment, they are written into the unit.
 */
const CARRIED_ENVIRONMENT = ['CORRAL_RUN_DIR', 'CORRAL_STATE_DIR', 'CORRAL_SUBNET_CLAIMS', 'CORRAL_RUNTIME', 'CORRAL_CONMON', 'CORRAL_CNI_PATH', 'CORRAL_RESTART_BACKOFF'];

/** The errors of a write into /etc that mean "not here", which `up -d` reports and goes on. */
const CANNOT_WRITE = ['EROFS', 'EACCES', 'EPERM', 'ENOSPC'];

/** The command that brings the projects back: this Corral's node and CLI, and its settings. */
export interface BootCommand {
  readonly node: string;
  readonly script: string;
  /** NAME → value, of CARRIED_ENVIRONMENT. */
  readonly environment: Readonly<Record<string, string>>;
}

export function bootCommandOfThisCorral(env: NodeJS.ProcessEnv = process.env): BootCommand {
  const environment = Object.fromEntries(CARRIED_ENVIRONMENT.filter((name) => env[name]).map((name) => [name, env[name]!]));
  return { node: process.execPath, script: cliEntry(), environment };
}

/** A word of a unit file's command line or assignment, quoted as systemd reads it (and `%` not a specifier). */
function unitQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/** The unit file. */
export function bootUnitText(command: BootCommand): string {
  return [
    '# Installed by Corral (`corral service install`; `corral service uninstall` removes it).',
    '[Unit]',
    'Description=Corral: bring back the projects left up by corral up -d (restart: always, unless-stopped)',
    'After=local-fs.target network.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `TimeoutStartSec=${BOOT_TIMEOUT_S}`,
    ...Object.entries(command.environment).map(([name, value]) => `Environment=${unitQuote(`${name}=${value}`)}`),
    `ExecStart=${unitQuote(command.node)} ${unitQuote(command.script)} boot`,
    '',
    '[Install]',
    `WantedBy=${WANTED_BY}`,
    '',
  ].join('\n');
}

/** The shell line an init system without systemd runs at boot. */
export function bootShellLine(command: BootCommand): string {
  const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  const settings = Object.entries(command.environment).map(([name, value]) => `${name}=${quote(value)} `).join('');
  return `${settings}${quote(command.node)} ${quote(command.script)} boot`;
}

/** What to add to an init system that is not systemd. */
export function initSystemInstructions(command: BootCommand): string {
  const line = bootShellLine(command);
  return [
    'systemd is not the init of this host (no /run/systemd/system): nothing was installed.',
    'To bring back the projects left up by `corral up -d` when the host boots, have the init system run, once at',
    'boot, after the local file systems are mounted and the network is up:',
    `  ${line}`,
    'For example: OpenRC, an executable /etc/local.d/corral.start with that line; sysvinit, that line in /etc/rc.local',
    '(before `exit 0`); runit or s6, a oneshot service running it.',
    'Until then, `corral up` of a project brings all of it back, as after any reboot.',
  ].join('\n');
}

const unitFile = () => path.join(UNIT_DIR, BOOT_UNIT);
const wantsLink = () => path.join(UNIT_DIR, `${WANTED_BY}.wants`, BOOT_UNIT);

async function systemctl(args: readonly string[]): Promise<{ exitCode: number; output: string }> {
  const { execa } = await import('execa');
  const result = await execa('systemctl', args, { reject: false, stdin: 'ignore', timeout: SYSTEMCTL_TIMEOUT_MS });
  return { exitCode: result.exitCode ?? -1, output: `${String(result.stdout)}${String(result.stderr)}`.trim() };
}

/**
 * systemd reads the unit files again, so that `systemctl status` knows the new unit before the next
 * boot. What went wrong, when it did: the unit is in place and runs at the next boot all the same.
 */
async function reloadSystemd(): Promise<string | undefined> {
  const reload = await systemctl(['daemon-reload']);
  if (reload.exitCode === 0) return undefined;
  return `systemctl daemon-reload exited ${reload.exitCode}: ${reload.output}; the unit runs at the next boot, run \`systemctl daemon-reload\` for systemctl to show it now`;
}

export type InstallOutcome = { readonly installed: true; readonly unit: string; readonly warning?: string } | { readonly installed: false; readonly instructions: string };

/**
 * Installs and enables the unit (replacing one installed before, by another Corral say); without
 * systemd, installs nothing and returns what to add to the init system instead.
 */
export async function installBootService(command: BootCommand = bootCommandOfThisCorral()): Promise<InstallOutcome> {
  if (!systemdIsInit()) return { installed: false, instructions: initSystemInstructions(command) };
  await writeFileAtomic(unitFile(), bootUnitText(command), 0o644);
  await mkdir(path.dirname(wantsLink()), { recursive: true, mode: 0o755 });
  // As `systemctl enable` makes it; one made before is replaced (it points to the same file).
  await rm(wantsLink(), { force: true });
  await symlink(unitFile(), wantsLink());
  return { installed: true, unit: unitFile(), warning: await reloadSystemd() };
}

/** Disables and removes the unit; whether one was installed, and what went wrong telling systemd. */
export async function uninstallBootService(): Promise<{ readonly removed: boolean; readonly warning?: string }> {
  const removed = await pathExists(unitFile());
  await rm(wantsLink(), { force: true });
  await rm(unitFile(), { force: true });
  return { removed, warning: removed && systemdIsInit() ? await reloadSystemd() : undefined };
}

/**
 * Whether `up -d` may install the unit by itself: only when it runs on Corral's default dirs. There is
 * one unit per host, and it carries the dirs of the Corral that installed it: an `up -d` on other dirs
 * (a test suite's sandbox on a developer's systemd machine, a second state dir) must not bind the host's
 * boot to them. Those are brought back by an explicit `corral service install` with the same settings.
 */
export function installsOnUp(env: NodeJS.ProcessEnv = process.env): boolean {
  const [own, defaults] = [dirsFromEnvironment(env), dirsFromEnvironment({})];
  return own.run === defaults.run && own.state === defaults.state;
}

/**
 * The first `up -d` on a systemd host, on the default dirs, installs the unit; later ones, and hosts
 * without systemd, do nothing. A host where /etc cannot be written gets a warning, not a failed `up`.
 */
export async function ensureBootService(say: (line: string) => void): Promise<void> {
  if (!systemdIsInit() || (await pathExists(unitFile()))) return;
  if (!installsOnUp()) {
    say(`note: ${BOOT_UNIT} is not installed and is installed by \`up -d\` only on Corral's default dirs; for the projects of ${dirsFromEnvironment().state} to come back at boot, run \`corral service install\` with the same settings`);
    return;
  }
  try {
    const outcome = await installBootService();
    if (!outcome.installed) return;
    say(`installed ${BOOT_UNIT} (${outcome.unit}): projects left up with -d come back at boot (restart: always, unless-stopped)`);
    if (outcome.warning) say(`warning: ${outcome.warning}`);
  } catch (error) {
    if (!CANNOT_WRITE.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    say(`warning: cannot install ${BOOT_UNIT}: ${(error as Error).message}; the project does not come back at boot until \`corral service install\` succeeds`);
  }
}

/** `corral service status`: the unit, whether systemd has it enabled and active, what it runs. */
export async function describeBootService(): Promise<string> {
  if (!systemdIsInit()) {
    return `systemd is not the init of this host: no ${BOOT_UNIT}; the init system must run \`${bootShellLine(bootCommandOfThisCorral())}\` at boot (\`corral service install\` says how)`;
  }
  if (!(await pathExists(unitFile()))) return `${BOOT_UNIT}: not installed (the next \`corral up -d\` installs it, or \`corral service install\`)`;
  const enabled = await lstat(wantsLink()).then(() => 'enabled', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return 'not enabled';
    throw error;
  });
  const active = (await systemctl(['is-active', BOOT_UNIT])).output || 'unknown';
  return `${BOOT_UNIT}: installed (${unitFile()}), ${enabled}, ${active}`;
}
