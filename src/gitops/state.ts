import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../state/atomic.js';

// What GitOps applied, per source (repository + branch): the commit, when, the projects it made from
// which paths, and the last error. `corral gitops status` and `corral ps` read it.

export interface GitopsState {
  readonly repo: string;
  readonly branch: string;
  /** The commit running now (the last that applied cleanly). */
  readonly appliedCommit?: string;
  readonly appliedAt?: string;
  /** Project names by project file path in the repository. */
  readonly projects: Readonly<Record<string, string>>;
  /** The last commit that did not apply; `retry`: nothing was changed and the next pass tries it again. */
  readonly lastError?: { readonly commit: string; readonly at: string; readonly message: string; readonly retry?: boolean };
}

export function gitopsDir(stateDir: string, repo: string, branch: string): string {
  return path.join(stateDir, 'gitops', createHash('sha256').update(`${repo}\n${branch}`).digest('hex').slice(0, 16));
}

export async function readGitopsState(dir: string): Promise<GitopsState | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as GitopsState;
  } catch {
    return undefined;
  }
}

export function writeGitopsState(dir: string, state: GitopsState): Promise<void> {
  return writeJsonAtomic(path.join(dir, 'state.json'), state);
}

/** Every source GitOps has applied from on this host, sorted by repository and branch. */
export async function listGitopsStates(stateDir: string): Promise<GitopsState[]> {
  const root = path.join(stateDir, 'gitops');
  const dirs = await readdir(root).catch(() => [] as string[]);
  const states = await Promise.all(dirs.map((name) => readGitopsState(path.join(root, name))));
  return states.filter((state): state is GitopsState => state !== undefined)
    .sort((a, b) => `${a.repo}\n${a.branch}`.localeCompare(`${b.repo}\n${b.branch}`));
}
