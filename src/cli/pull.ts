import type { Command } from 'commander';
import { dirsFromEnvironment } from '../state/paths.js';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';
import { UsageError } from './errors.js';

// `corral pull [REF...]`: the named images, or every image of the project file (those with
// pull_policy: never are left alone), into the local store; different images in parallel.

interface PullCommandOptions extends TargetOptions {
  readonly tlsVerify?: string;
}

async function imagesOfProjectFile(options: TargetOptions): Promise<string[]> {
  const project = await loadTargetProject(options);
  // Built images come from `up`, as in compose; pull_policy: never means the store is filled by other means.
  const refs = project.pods.flatMap((pod) => pod.containers).filter((container) => container.image && !container.image.build && container.image.pullPolicy !== 'never').map((container) => container.image!.ref);
  if (refs.length === 0) throw new UsageError(`${project.file} names no image to pull`, 'add image: to a container, or name images: corral pull REF...');
  return [...new Set(refs)].sort();
}

async function runPull(refs: readonly string[], options: PullCommandOptions): Promise<void> {
  const [{ pullImage }, { reporterFor }, { imageStore }] = await Promise.all([import('../images/pull.js'), import('../images/progress.js'), import('../images/store.js')]);
  const wanted = refs.length > 0 ? [...new Set(refs)] : await imagesOfProjectFile(options);
  const store = imageStore(dirsFromEnvironment().state);
  const reporter = await reporterFor(process.stdout);
  const results = await Promise.allSettled(wanted.map((ref) => pullImage(store, ref, { tlsVerify: options.tlsVerify !== 'false', reporter })));
  const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  // Every pull had its chance; the first failure speaks for the command, the others are listed.
  for (const failure of failures.slice(1)) process.stderr.write(`corral: ${String(failure.reason)}\n`);
  if (failures.length > 0) throw failures[0]!.reason;
}

export function registerPull(program: Command): void {
  withTargetOptions(program
    .command('pull')
    .argument('[refs...]', 'images: registry references, oci:DIR[:tag], oci-archive:FILE, docker-archive:FILE (default: those of the project file)')
    .description('pull images into the local store (shared by all projects)'))
    .option('--tls-verify <bool>', 'false: pull from registries over plain HTTP or unverified TLS', 'true')
    .action(async (refs: string[], options: PullCommandOptions, command: Command) => runPull(refs, { ...command.optsWithGlobals(), ...options }));
}
