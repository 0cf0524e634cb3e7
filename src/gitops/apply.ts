import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveProjectImages } from '../images/resolve.js';
import { loadProject } from '../project/load.js';
import type { Project } from '../project/model.js';
import { openRuntime } from '../runtime/context.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { notifySupervisor } from '../supervisor/launch.js';
import { reconcileProject } from '../supervisor/reconcile.js';
import { takeProjectDown } from '../supervisor/teardown.js';
import { checkoutCommit, fetchBranch } from './repository.js';
import { gitopsDir, readGitopsState, writeGitopsState, type GitopsState } from './state.js';

// One GitOps pass: fetch the branch; at a new commit, load every project file it names (all must
// load before any is applied), apply each, and bring down the projects whose file the commit
// deleted. A commit that does not load or apply is reported with its id and remembered as failed
// (not retried at every poll); what ran before keeps running.

export interface GitopsSource {
  readonly repo: string;
  readonly branch: string;
  /** Project files, relative to the repository root. */
  readonly paths: readonly string[];
  readonly stateDir: string;
  readonly tlsVerify?: boolean;
  readonly onLine: (line: string) => void;
}

export interface PassOutcome {
  readonly commit: string;
  readonly applied: boolean;
  readonly error?: string;
}

const short = (commit: string) => commit.slice(0, 12);

export async function gitopsPass(source: GitopsSource): Promise<PassOutcome> {
  const say = source.onLine;
  const dir = gitopsDir(source.stateDir, source.repo, source.branch);
  const clone = path.join(dir, 'clone');
  const state: GitopsState = (await readGitopsState(dir)) ?? { repo: source.repo, branch: source.branch, projects: {} };
  const commit = await fetchBranch(source.repo, source.branch, clone);
  if (commit === state.appliedCommit || commit === state.lastError?.commit) return { commit, applied: false, error: state.lastError?.commit === commit ? state.lastError.message : undefined };
  const subject = await checkoutCommit(clone, commit);
  try {
    const projects: [string, Project][] = [];
    for (const file of source.paths) {
      const full = path.join(clone, file);
      if (!existsSync(full)) continue;
      const loaded = await loadProject({ file: full });
      projects.push([file, await resolveProjectImages(loaded, source.stateDir, { tlsVerify: source.tlsVerify, onProgress: say })]);
    }
    for (const [file, project] of projects) {
      const context = await openRuntime(project.name);
      await reconcileProject(project, context, { onProgress: say });
      await writeJsonAtomic(path.join(context.paths.state, 'gitops.json'), { repo: source.repo, branch: source.branch, path: file, commit, appliedAt: new Date().toISOString() });
      await notifySupervisor(context);
    }
    const now = Object.fromEntries(projects.map(([file, project]) => [file, project.name]));
    for (const [file, name] of Object.entries(state.projects)) {
      if (Object.values(now).includes(name)) continue;
      say(`${file} is gone at ${short(commit)}: taking project ${name} down`);
      await takeProjectDown(await openRuntime(name), { onProgress: say });
    }
    await writeGitopsState(dir, { repo: source.repo, branch: source.branch, appliedCommit: commit, appliedAt: new Date().toISOString(), projects: now });
    say(`commit ${short(commit)} applied: ${subject}`);
    return { commit, applied: true };
  } catch (error) {
    const message = error instanceof Error ? error.toString().replace(/^Error: /, '') : String(error);
    await writeGitopsState(dir, { ...state, lastError: { commit, at: new Date().toISOString(), message } });
    say(`commit ${short(commit)} not applied: ${message}; ${state.appliedCommit ? `commit ${short(state.appliedCommit)}` : 'what ran before'} keeps running`);
    return { commit, applied: false, error: message };
  }
}
