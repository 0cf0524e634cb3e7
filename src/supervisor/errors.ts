import { FixableError } from '../fixable-error.js';
import type { ProjectPaths } from '../state/paths.js';

// One error class for the supervisor layer: which project (or socket), why the supervisor cannot run
// or be reached, and what the user can do about it. `reason` tells the cases apart for callers that
// handle one of them (the detached supervisor exits quietly when it is busy or the project is gone).

export type SupervisorFailure =
  /** Another supervisor of the project holds its lock. */
  | 'busy'
  /** The project is not applied (any more): `down` removed its run dir or its applied project. */
  | 'project-gone'
  /** The supervisor's socket cannot be used for another reason than "nobody listens". */
  | 'socket';

export class SupervisorError extends FixableError {
  override readonly name = 'SupervisorError';
  readonly reason: SupervisorFailure;

  constructor(opts: { reason: SupervisorFailure; message: string; hint: string; cause?: unknown }) {
    super(opts.message, opts);
    this.reason = opts.reason;
  }

  /** Another supervisor holds the project's supervisor lock. */
  static busy(project: string, paths: ProjectPaths): SupervisorError {
    return new SupervisorError({
      reason: 'busy',
      message: `project ${project}: another supervisor runs (it holds ${paths.supervisorLock})`,
      hint: `its pid is in ${paths.machines}; wait for it to exit, or stop it with \`kill PID\`, then run the command again`,
    });
  }

  /**
   * The project was taken down under the supervisor's feet (or before it started). The message is
   * the same for every occurrence in a project: a machine keeps only the message of a failed step,
   * and the supervisor recognises this one by it.
   */
  static projectGone(project: string, paths: ProjectPaths, cause?: unknown): SupervisorError {
    return new SupervisorError({
      reason: 'project-gone',
      message: `project ${project} is no longer applied (${paths.run} or ${paths.applied} is gone: \`corral down\` ran)`,
      hint: `\`corral up -p ${project}\` applies it again and starts a new supervisor`,
      cause,
    });
  }

  /** The socket is there but cannot be used (permissions, a file that is no socket, ...). */
  static socket(socketPath: string, cause: NodeJS.ErrnoException): SupervisorError {
    const code = cause.code ?? 'EIO';
    const hint = code === 'EACCES' || code === 'EPERM'
      ? 'the supervisor\'s socket is root-only: run corral as root (sudo corral ...)'
      : `check ${socketPath} (ls -l; it must be a unix socket) and the supervisor.log beside the project's state, then run the command again`;
    return new SupervisorError({ reason: 'socket', message: `cannot talk to the supervisor at ${socketPath}: ${cause.message} (${code})`, hint, cause });
  }
}
