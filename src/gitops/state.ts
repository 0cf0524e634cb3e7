import { createHash } from 'node:crypto';
import path from 'node:path';
import { byCodeUnits } from '../code-unit-order.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { isRecord, namesInDir, readStateJson } from '../state/read.js';

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

/**
 * Read as absent, a damaged state.json would make the next pass apply its commit as the first one
 * and forget which projects the source made (so a project removed from the repository would stay up).
 * Removed, it costs just that: the next pass applies the branch head again, which keeps what is unchanged.
 */
const gitopsFix = (file: string) => `remove it (rm -r ${file}); the next pass applies the branch head again and records it; projects removed from the repository meanwhile are then not taken down: \`corral down -p NAME\` them`;

const isGitopsState = (value: unknown) => isRecord(value) && typeof value.repo === 'string' && typeof value.branch === 'string' && isRecord(value.projects);

/** What GitOps applied from the source whose dir is `dir`, or undefined before its first pass. */
export async function readGitopsState(dir: string): Promise<GitopsState | undefined> {
  const file = path.join(dir, 'state.json');
  return readStateJson<GitopsState>(file, { fix: gitopsFix(file), isValid: isGitopsState, shape: 'a GitOps state (repo, branch, projects)' });
}

export function writeGitopsState(dir: string, state: GitopsState): Promise<void> {
  return writeJsonAtomic(path.join(dir, 'state.json'), state);
}

/** Every source GitOps has applied from on this host, sorted by repository and branch. */
export async function listGitopsStates(stateDir: string): Promise<GitopsState[]> {
  const root = path.join(stateDir, 'gitops');
  const dirs = await namesInDir(root);
  const states = await Promise.all(dirs.map((name) => readGitopsState(path.join(root, name))));
  return states.filter((state): state is GitopsState => state !== undefined)
    .sort((a, b) => byCodeUnits(`${a.repo}\n${a.branch}`, `${b.repo}\n${b.branch}`));
}
