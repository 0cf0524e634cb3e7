import { release } from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../state/atomic.js';
import { isRecord, readStateJson } from '../state/read.js';
import type { Dirs } from '../state/paths.js';
import { RuntimeError } from './errors.js';

// Whether this host can checkpoint a container: CRIU must match the kernel, and a CRIU that does not
// fails in the middle of a dump (issue 23: Debian 12's CRIU 3.17 fails its own check on a 6.18 kernel,
// a newer one passed the check and hung in the dump). `criu check` runs once per kernel and CRIU
// binary; its answer is kept in the state dir, and `checkpoint`/`restore` are refused with its reason.

/** The cached answer, beside the projects in the state dir: one per host. */
const CHECK_FILE = 'criu-check.json';
/** `criu check` reads /proc and tries a few syscalls; under emulation it took seconds. */
const CHECK_TIMEOUT_MS = 120_000;
/** The lines of `criu check`'s output kept as the reason (its last ones say what failed). */
const REASON_LINES = 6;

export interface CriuCheck {
  /** What the answer holds for: the kernel release and the CRIU binary and version it was asked of. */
  readonly kernel: string;
  readonly criu: string;
  readonly version: string;
  readonly ok: boolean;
  /** Why it cannot checkpoint here, in CRIU's words (the end of `criu check`'s output). */
  readonly reason?: string;
  readonly checkedAt: string;
}

export interface CriuCheckOptions {
  readonly dirs: Dirs;
  /** The CRIU binary: `criu` on the PATH by default, where runc looks for it. */
  readonly criu?: string;
  readonly kernel?: string;
}

const isCriuCheck = (value: unknown): value is CriuCheck => isRecord(value) && typeof value.ok === 'boolean' && typeof value.kernel === 'string' && typeof value.criu === 'string';

export const criuCheckFile = (dirs: Dirs) => path.join(dirs.state, CHECK_FILE);

const lastLines = (text: string) => text.trim().split('\n').slice(-REASON_LINES).join('\n');

/** Asks CRIU itself: its version and `criu check`. A CRIU that is not there is an answer too. */
async function runCriuCheck(criu: string, kernel: string): Promise<CriuCheck> {
  const { execa } = await import('execa');
  const checkedAt = new Date().toISOString();
  const version = await execa(criu, ['--version'], { reject: false, timeout: CHECK_TIMEOUT_MS, stdin: 'ignore' });
  if ((version as { code?: string }).code === 'ENOENT') {
    return { kernel, criu, version: '', ok: false, reason: `${criu} is not installed (apt-get install criu)`, checkedAt };
  }
  const versionLine = String(version.stdout).split('\n')[0]?.trim() ?? '';
  const check = await execa(criu, ['check'], { reject: false, timeout: CHECK_TIMEOUT_MS, stdin: 'ignore', all: true });
  if (check.exitCode === 0) return { kernel, criu, version: versionLine, ok: true, checkedAt };
  const said = lastLines(String(check.all ?? '')) || (check.timedOut ? `no answer in ${CHECK_TIMEOUT_MS / 1000} s` : `exit code ${check.exitCode}`);
  return { kernel, criu, version: versionLine, ok: false, reason: `\`${criu} check\` fails on kernel ${kernel} (${versionLine || 'CRIU'}): ${said}`, checkedAt };
}

/**
 * Whether CRIU works on this host: the cached answer when it was given for this kernel and CRIU
 * binary, else `criu check` run now and its answer cached. An unreadable cache file is an error that
 * names it (removing it makes the check run again).
 */
export async function criuCheck(options: CriuCheckOptions): Promise<CriuCheck> {
  const criu = options.criu ?? 'criu';
  const kernel = options.kernel ?? release();
  const file = criuCheckFile(options.dirs);
  const cached = await readStateJson<CriuCheck>(file, { fix: `remove ${file}; the next checkpoint runs \`criu check\` again`, isValid: isCriuCheck, shape: 'the answer of `criu check`' });
  if (cached && cached.kernel === kernel && cached.criu === criu) return cached;
  const answer = await runCriuCheck(criu, kernel);
  await writeJsonAtomic(file, answer);
  return answer;
}

/** Refuses a checkpoint or restore on a host where CRIU does not work, with CRIU's reason. */
export async function requireCheckpointSupport(options: CriuCheckOptions & { readonly command: string }): Promise<CriuCheck> {
  const answer = await criuCheck(options);
  if (answer.ok) return answer;
  throw new RuntimeError({
    resource: 'host', step: options.command,
    message: `this host cannot checkpoint containers: ${answer.reason}`,
    hint: `CRIU must match the kernel; install one whose \`criu check\` passes, then remove ${criuCheckFile(options.dirs)} so that it is asked again`,
  });
}
