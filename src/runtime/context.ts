import { makeDirDespiteRemoval } from '../state/make-dir.js';
import { isValidProjectName, PROJECT_NAME_RULE } from '../project/name.js';
import { dirsFromEnvironment, projectPaths, type Dirs, type ProjectPaths } from '../state/paths.js';
import { findBinary, hostBoundingCapabilities, hostHardLimits, nofileHardLimitOf } from './host.js';
import type { RuncOptions } from './runc.js';
import { RuntimeError } from './errors.js';
import { loadSeccompProfile, type DockerSeccompProfile } from './seccomp.js';

// Everything the runtime layer needs to act on one project, gathered once per command.

export interface RuntimeContext {
  readonly project: string;
  readonly dirs: Dirs;
  readonly paths: ProjectPaths;
  readonly runc: RuncOptions;
  readonly conmon: string;
  readonly nofileHardLimit: number;
  /** This process's hard limits by ulimit name (-1: unlimited). */
  readonly hardLimits: Readonly<Record<string, number>>;
  /** What a container may get at most: this process's bounding set. */
  readonly boundingCapabilities: readonly string[];
  readonly seccompProfile?: DockerSeccompProfile;
}

/**
 * Makes the project's private dirs (root-only) where they are missing. Called again under the project
 * lock before applying: a `down` that ran since the context was opened removed the run dir.
 */
export async function ensureProjectDirs(paths: ProjectPaths): Promise<void> {
  for (const dir of [paths.run, paths.state, paths.runcRoot, paths.exits, paths.sockets]) {
    await makeDirDespiteRemoval(dir, 0o700);
  }
}

/**
 * Builds the context for a project. Commands that change the host make sure its private dirs exist
 * (root-only); read-only ones (`ps`, `logs`) pass `readOnly` and leave no trace of a mistyped name.
 */
export async function openRuntime(project: string, options: { dirs?: Dirs; runtime?: string; readOnly?: boolean } = {}): Promise<RuntimeContext> {
  // State and sockets are root-only: another user gets this, not a half-readable answer.
  if (process.getuid?.() !== 0) {
    throw new RuntimeError({ resource: project, step: 'open', message: 'permission denied: Corral\'s containers, state and sockets belong to root', hint: 'run corral as root (sudo corral ...)' });
  }
  // The name becomes dirs, a cgroup and units: `.`, `..` or `a/b` would reach another project's (or all of them).
  if (!isValidProjectName(project)) {
    throw new RuntimeError({ resource: JSON.stringify(project), step: 'open', message: 'not a project name', hint: `name the project with ${PROJECT_NAME_RULE}` });
  }
  const dirs = options.dirs ?? dirsFromEnvironment();
  const paths = projectPaths(dirs, project);
  if (!options.readOnly) await ensureProjectDirs(paths);
  const hardLimits = await hostHardLimits();
  return {
    project,
    dirs,
    paths,
    runc: { binary: findBinary(options.runtime ?? process.env.CORRAL_RUNTIME ?? 'runc'), root: paths.runcRoot },
    conmon: findBinary('conmon', process.env.CORRAL_CONMON),
    nofileHardLimit: nofileHardLimitOf(hardLimits),
    hardLimits,
    boundingCapabilities: await hostBoundingCapabilities(),
    seccompProfile: await loadSeccompProfile(),
  };
}
