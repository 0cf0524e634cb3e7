import type { Command } from 'commander';
import { loadProjectWithImages } from './up.js';
import { type TargetOptions, withTargetOptions } from './target.js';

// `corral create [pods...]`, as docker compose's `create`: the pods and their containers are made and
// left `created` (ps shows them so); `start` or `up` starts them. Nothing is removed or started.

interface CreateOptions extends TargetOptions {
  readonly tlsVerify?: string;
  readonly build?: boolean;
}

async function runCreate(pods: readonly string[], options: CreateOptions): Promise<void> {
  const project = await loadProjectWithImages(options);
  const [{ openRuntime }, { reconcileProject }] = await Promise.all([import('../runtime/context.js'), import('../converge/reconcile.js')]);
  await reconcileProject(project, await openRuntime(project.name), { createOnly: true, pods, onProgress: (line) => process.stdout.write(`${line}\n`) });
}

export function registerCreate(program: Command): void {
  withTargetOptions(program
    .command('create')
    .argument('[pods...]', 'only these pods (and the pods they depend on)')
    .description('create the pods and containers of the project file without starting them'))
    .option('--tls-verify <bool>', 'false: pull from registries over plain HTTP or unverified TLS', 'true')
    .option('--build', 'build the images of build: again, even if built before')
    .action(async (pods: string[], options: CreateOptions, command: Command) => runCreate(pods, { ...command.optsWithGlobals(), ...options }));
}
