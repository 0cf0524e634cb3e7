import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

// The clone GitOps applies from: kept under Corral's state dir, fetched on demand, checked out at
// exactly the commit being applied (detached, forced: the clone is Corral's, nobody edits it).

async function git(dir: string | undefined, args: string[]): Promise<string> {
  const result = await execa('git', dir ? ['-C', dir, ...args] : args, { reject: false, timeout: 300_000, env: { GIT_TERMINAL_PROMPT: '0' } });
  if (result.exitCode !== 0) throw new Error(`git ${args[0]}: ${String(result.stderr).trim().split('\n').pop()}`);
  return String(result.stdout).trim();
}

/** Fetches `branch` of `url` into the clone at `dir` (made on first use); returns the branch's commit. */
export async function fetchBranch(url: string, branch: string, dir: string): Promise<string> {
  if (!existsSync(path.join(dir, '.git'))) {
    await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
    await git(undefined, ['clone', '--quiet', '--no-checkout', '--branch', branch, '--single-branch', url, dir]);
  } else {
    await git(dir, ['fetch', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  }
  return git(dir, ['rev-parse', `refs/remotes/origin/${branch}`]);
}

/** Checks out `commit` (detached, forced) and returns its one-line subject. */
export async function checkoutCommit(dir: string, commit: string): Promise<string> {
  await git(dir, ['checkout', '--quiet', '--force', '--detach', commit]);
  await git(dir, ['clean', '--quiet', '-fdx']);
  return git(dir, ['log', '-1', '--format=%s', commit]);
}
