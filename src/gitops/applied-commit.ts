import { writeJsonAtomic } from '../state/atomic.js';
import { isRecord, readStateJson } from '../state/read.js';

// The commit GitOps last applied to a project (gitops.json in its state dir): `ps` prints it under
// the table and `ls` in its own column, so a user sees which commit runs without asking GitOps.

export interface AppliedCommit {
  readonly repo: string;
  readonly branch: string;
  /** The project file in the repository. */
  readonly path?: string;
  readonly commit: string;
  readonly appliedAt: string;
}

/** The commit, or undefined when GitOps never applied this project; written again by each pass. */
export function readAppliedCommit(file: string): Promise<AppliedCommit | undefined> {
  const fix = `remove it (rm -r ${file}); the next GitOps pass that applies this project writes it again`;
  return readStateJson<AppliedCommit>(file, { fix, isValid: (value) => isRecord(value) && typeof value.commit === 'string', shape: 'the applied commit (repo, branch, commit)' });
}

export function writeAppliedCommit(file: string, commit: AppliedCommit): Promise<void> {
  return writeJsonAtomic(file, commit);
}
