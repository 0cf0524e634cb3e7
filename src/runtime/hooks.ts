import type { Hook } from '../project/model.js';
import { log } from '../log.js';
import type { RuntimeContext } from './context.js';
import { HOOKS_ANNOTATION } from './spec.js';
import { resolveUser } from './users.js';
import * as runc from './runc.js';

// compose's lifecycle hooks: post_start commands run in the container right after it starts,
// pre_stop commands before its stop signal, each as `exec` would run it (its own user, directory,
// environment, every capability when privileged). They come from the container's annotations, so
// that `stop` and `down` run them without the project file. A hook that fails is reported and the
// start or stop goes on, as the container has already started, or is asked to stop.

/** How long a post_start hook may take; a pre_stop hook has what is left of the stop grace period. */
export const POST_START_TIMEOUT_MS = 60_000;

export type HookPoint = 'postStart' | 'preStop';

const HOOK_KEY: Record<HookPoint, string> = { postStart: 'post_start', preStop: 'pre_stop' };

/** The hooks recorded with the container at create time. */
function recordedHooks(annotations: Readonly<Record<string, string>>, point: HookPoint): Hook[] {
  const recorded = annotations[HOOKS_ANNOTATION];
  return recorded === undefined ? [] : (JSON.parse(recorded) as Record<HookPoint, Hook[]>)[point] ?? [];
}

/** runc exec's flags for a hook: user (resolved in the container's root), directory, environment, capabilities. */
export async function execFlags(context: RuntimeContext, id: string, hook: Hook): Promise<string[]> {
  const user = hook.user === undefined ? undefined : await resolveUser(context.paths.container(id).rootfs, hook.user);
  return [
    ...(user ? ['--user', `${user.uid}:${user.gid}`, ...user.additionalGids.flatMap((gid) => ['--additional-gids', String(gid)])] : []),
    ...(hook.workdir ? ['--cwd', hook.workdir] : []),
    ...Object.entries(hook.env).flatMap(([name, value]) => ['--env', `${name}=${value}`]),
    ...(hook.privileged ? context.boundingCapabilities.flatMap((capability) => ['--cap', capability]) : []),
  ];
}

/**
 * Runs the container's hooks of one point in order, within `timeoutMs` in all; stops at the first
 * that fails and warns with its exit code and output. Returns whether all ran to exit 0.
 */
export async function runHooks(context: RuntimeContext, options: { id: string; resource: string; annotations: Readonly<Record<string, string>>; point: HookPoint; timeoutMs: number }): Promise<boolean> {
  const { id, resource, point } = options;
  const deadline = Date.now() + options.timeoutMs;
  const hooks = recordedHooks(options.annotations, point);
  // A container that was created but never started, or has ended, has nothing to run a hook in.
  if (hooks.length === 0 || (await runc.containerState(context.runc, id))?.status !== 'running') return hooks.length === 0;
  for (const [index, hook] of hooks.entries()) {
    const result = await runc.execWithFlags(context.runc, id, await execFlags(context, id, hook), hook.argv, Math.max(1, deadline - Date.now()));
    if (result.exitCode !== 0) {
      const how = result.timedOut ? 'did not end in time' : `exited with code ${result.exitCode}`;
      log.warn(`${resource}: ${HOOK_KEY[point]}[${index}] (${hook.argv.join(' ')}) ${how}${result.all ? `: ${String(result.all).trim()}` : ''}; the ${point === 'postStart' ? 'container keeps running' : 'stop goes on'}`);
      return false;
    }
  }
  return true;
}
