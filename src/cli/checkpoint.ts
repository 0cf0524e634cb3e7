import type { Command } from 'commander';
import { controlCommand, type ControlCommandOptions } from './control.js';
import { UsageError } from './errors.js';
import type { ObservedContainer } from '../runtime/observe.js';
import type { RuntimeContext } from '../runtime/context.js';

// `corral checkpoint [--leave-running] [--export FILE] pod/container ...` and `corral restore
// [--import FILE] pod/container ...`: a running container saved with its memory by CRIU and brought
// back (runtime/checkpoint.ts). Both are refused on a host whose CRIU does not work with its kernel
// (runtime/criu-check.ts), before anything is touched.

/** One archive holds one container's checkpoint. */
function requireOneFor(flag: string, containers: readonly ObservedContainer[]): void {
  if (containers.length === 1) return;
  throw new UsageError(`${flag} takes the checkpoint of one container, and ${containers.length} are named`, `name one pod/container: ${containers.map((one) => `${one.pod}/${one.name}`).join(', ') || 'none exists'}`);
}

async function requireCriu(context: RuntimeContext, command: string): Promise<void> {
  const { requireCheckpointSupport } = await import('../runtime/criu-check.js');
  await requireCheckpointSupport({ dirs: context.dirs, command });
}

export function registerCheckpoint(program: Command): void {
  controlCommand(program, 'checkpoint', 'save running containers with their memory (CRIU) and stop them; `restore` brings them back', {
    addOptions: (command) => command
      .option('--leave-running', 'let the container run on after the checkpoint')
      .option('--export <file>', 'also write the checkpoint (with the changes of its root file system) to a tar archive (compressed as its name says: .tar.zst, .tar.gz)')
      .option('--tcp-established', 'also dump established TCP connections (a restore needs the same addresses)')
      .option('--file-locks', 'also dump the file locks its processes hold'),
    prepare: async (context, options: ControlCommandOptions & { export?: string; tcpEstablished?: boolean; fileLocks?: boolean }, containers) => {
      await requireCriu(context, 'checkpoint');
      if (options.export !== undefined) requireOneFor('--export', containers);
      return {
        leaveRunning: Boolean(options.leaveRunning), tcpEstablished: Boolean(options.tcpEstablished), fileLocks: Boolean(options.fileLocks),
        ...(options.export === undefined ? {} : { exportFile: options.export }),
      };
    },
  });
  controlCommand(program, 'restore', 'bring checkpointed containers back, running from where they were saved', {
    addOptions: (command) => command.option('--import <file>', 'restore from an archive `checkpoint --export` wrote'),
    prepare: async (context, options: ControlCommandOptions & { import?: string }, containers) => {
      await requireCriu(context, 'restore');
      if (options.import !== undefined) requireOneFor('--import', containers);
      // The checkpoint holds processes of one configuration: the project file must still describe it.
      const [{ loadTargetProject }, { configHash }] = await Promise.all([import('./target.js'), import('../plan/hash.js')]);
      const project = await loadTargetProject(options);
      const desiredHashes = new Map(project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, configHash(container, pod)] as const)));
      return { desiredHashes, project, ...(options.import === undefined ? {} : { importFile: options.import }) };
    },
  });
}
