import { setTimeout as sleep } from 'node:timers/promises';
import { FixableError } from '../fixable-error.js';
import { readExitCode } from '../runtime/conmon.js';
import type { RuntimeContext } from '../runtime/context.js';
import { observeContainer, type ObservedContainer } from '../runtime/observe.js';

// `corral wait` and a foreground `run`: until containers exit, and with which codes. conmon's exit
// file says it; the runtime is asked only now and then, for a container that ended without one.

/** How often the exit file is looked for, in ms: a read of one small file; 100 ms is no wait for a person. */
export const EXIT_POLL_MS = 100;
/** Every how many looks the runtime is asked too (a conmon killed with its container writes no exit file). */
const RUNTIME_EVERY = 20;

/** Resolves with the container's exit code once it has exited. */
export async function waitForExitCode(context: RuntimeContext, container: Pick<ObservedContainer, 'id' | 'pod' | 'name'>): Promise<number> {
  for (let look = 1; ; look++) {
    const code = await readExitCode(context.paths.exits, container.id);
    if (code !== undefined) return code;
    if (look % RUNTIME_EVERY === 0) {
      const seen = await observeContainer(context, container.id);
      if (seen.status === 'exited') {
        // Read again: conmon may have written it between the two looks.
        const recorded = seen.exitCode ?? (await readExitCode(context.paths.exits, container.id));
        if (recorded !== undefined) return recorded;
        throw new FixableError(`${container.pod}/${container.name} ended without an exit code (its monitor, conmon, is gone, or it was removed)`, { hint: 'see corral ps and corral logs' });
      }
    }
    await sleep(EXIT_POLL_MS);
  }
}

/** The exit codes of the containers, in their order, once all have exited. */
export function waitForExitCodes(context: RuntimeContext, containers: readonly ObservedContainer[]): Promise<number[]> {
  return Promise.all(containers.map((container) => waitForExitCode(context, container)));
}
