import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveProjectImages } from '../images/resolve.js';
import { ProjectError } from '../project/errors.js';
import { loadProject } from '../load/load.js';
import type { Project } from '../project/model.js';
import { openRuntime } from '../runtime/context.js';
import { writeAppliedCommit } from './applied-commit.js';
import { notifySupervisor } from '../supervisor/launch.js';
import { reconcileProject } from '../converge/reconcile.js';
import { takeProjectDown } from '../converge/teardown.js';
import { checkoutCommit, fetchBranch } from './repository.js';
import { gitopsDir, readGitopsState, writeGitopsState, type GitopsState } from './state.js';

// One GitOps pass: fetch the branch; at a new commit, load every project file it names (all must
// load before any is applied), apply each, and bring down the projects whose file the commit
// deleted. What goes wrong is reported with the commit id, and what ran before keeps running:
// - a file that does not validate is remembered, so the commit is not tried again at every poll;
// - anything else before the apply (an image registry away) changed nothing, and the next pass tries again;
// - an apply that fails halfway is rolled back: the last good commit is applied again.

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
  /** The commit failed before and was not tried again. */
  readonly known?: boolean;
}

/** Project names by project file path in the repository. */
type ProjectsByFile = Readonly<Record<string, string>>;

const short = (commit: string) => commit.slice(0, 12);
const describe = (error: unknown) => (error instanceof Error ? error.toString().replace(/^Error: /, '') : String(error));

/** Checks out `commit` and loads every project file it has, images resolved. Changes nothing on the host. */
async function loadCommit(source: GitopsSource, clone: string, commit: string): Promise<{ subject: string; projects: [string, Project][] }> {
  const subject = await checkoutCommit(clone, commit);
  const projects: [string, Project][] = [];
  for (const file of source.paths) {
    const full = path.join(clone, file);
    if (!existsSync(full)) continue;
    const loaded = await loadProject({ file: full });
    projects.push([file, await resolveProjectImages(loaded, source.stateDir, { tlsVerify: source.tlsVerify, onProgress: source.onLine })]);
  }
  return { subject, projects };
}

interface ApplyCommit {
  readonly commit: string;
  /** The commit's projects by file, as loadCommit gives them. */
  readonly projects: readonly [string, Project][];
  /** The projects applied before, by file: those no file names any more are taken down. */
  readonly before: ProjectsByFile;
}

/** Applies the loaded projects, records the commit in each, and takes down the projects no file names any more. */
async function applyCommit(source: GitopsSource, { commit, projects, before }: ApplyCommit): Promise<ProjectsByFile> {
  for (const [file, project] of projects) {
    const context = await openRuntime(project.name);
    await reconcileProject(project, context, { onProgress: source.onLine });
    await writeAppliedCommit(context.paths.gitopsCommit, { repo: source.repo, branch: source.branch, path: file, commit, appliedAt: new Date().toISOString() });
    await notifySupervisor(context);
  }
  const now = Object.fromEntries(projects.map(([file, project]) => [file, project.name]));
  for (const [file, name] of Object.entries(before)) {
    if (Object.values(now).includes(name)) continue;
    source.onLine(`${file} is gone at ${short(commit)}: taking project ${name} down`);
    await takeProjectDown(await openRuntime(name), { onProgress: source.onLine });
  }
  return now;
}

interface RollBack {
  readonly clone: string;
  /** The state before the failed commit: its applied commit is the one to go back to. */
  readonly state: GitopsState;
  /** The failed commit's projects by file. */
  readonly failed: readonly [string, Project][];
}

/** After an apply failed halfway: the last good commit again, and down with projects only the failed one made. */
async function rollBack(source: GitopsSource, { clone, state, failed }: RollBack): Promise<string> {
  if (!state.appliedCommit) return 'there is no earlier good commit to roll back to';
  try {
    const { projects } = await loadCommit(source, clone, state.appliedCommit);
    const touched = { ...Object.fromEntries(failed.map(([file, project]) => [`${file} (at the failed commit)`, project.name])), ...state.projects };
    await applyCommit(source, { commit: state.appliedCommit, projects, before: touched });
    return `rolled back: commit ${short(state.appliedCommit)} keeps running`;
  } catch (error) {
    return `the roll back to commit ${short(state.appliedCommit)} failed too: ${describe(error)}`;
  }
}

export async function gitopsPass(source: GitopsSource): Promise<PassOutcome> {
  const say = source.onLine;
  const dir = gitopsDir(source.stateDir, source.repo, source.branch);
  const clone = path.join(dir, 'clone');
  const state: GitopsState = (await readGitopsState(dir)) ?? { repo: source.repo, branch: source.branch, projects: {} };
  const commit = await fetchBranch(source.repo, source.branch, clone);
  if (commit === state.appliedCommit) return { commit, applied: false };
  if (commit === state.lastError?.commit && !state.lastError.retry) return { commit, applied: false, error: state.lastError.message, known: true };
  const fail = async (message: string, options: { retry: boolean; after: string }) => {
    await writeGitopsState(dir, { ...state, lastError: { commit, at: new Date().toISOString(), message, retry: options.retry } });
    say(`commit ${short(commit)} not applied: ${message}; ${options.after}`);
    return { commit, applied: false, error: message };
  };
  const keepsRunning = state.appliedCommit ? `commit ${short(state.appliedCommit)} keeps running` : 'what ran before keeps running';

  let loaded: Awaited<ReturnType<typeof loadCommit>>;
  try {
    loaded = await loadCommit(source, clone, commit);
  } catch (error) {
    const invalid = error instanceof ProjectError;
    return fail(describe(error), { retry: !invalid, after: invalid ? keepsRunning : `${keepsRunning}; the next pass tries again` });
  }
  try {
    const projects = await applyCommit(source, { commit, projects: loaded.projects, before: state.projects });
    await writeGitopsState(dir, { repo: source.repo, branch: source.branch, appliedCommit: commit, appliedAt: new Date().toISOString(), projects });
    say(`commit ${short(commit)} applied: ${loaded.subject}`);
    return { commit, applied: true };
  } catch (error) {
    if (state.appliedCommit) say(`commit ${short(commit)} failed to apply; rolling back to commit ${short(state.appliedCommit)}`);
    return fail(describe(error), { retry: false, after: await rollBack(source, { clone, state, failed: loaded.projects }) });
  }
}
