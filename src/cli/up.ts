import { type Command, InvalidArgumentError } from 'commander';
import type { Project } from '../project/model.js';
import { dirsFromEnvironment } from '../state/paths.js';
import type { PullPolicy } from '../images/pull.js';
import type { RuntimeContext } from '../runtime/context.js';
import { UsageError, setExplainedExitCode } from './errors.js';
import { withStopTimeout } from './timeout-option.js';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral up [pods...]`: make the host match the project file. With -d it returns once the containers
// run (with --wait: once they are healthy) and leaves a detached supervisor to restart and probe them;
// without, it supervises in the foreground, streaming their output, and Ctrl-C takes the project down.

interface UpOptions extends TargetOptions {
  readonly detach?: boolean;
  readonly dryRun?: boolean;
  readonly wait?: boolean;
  readonly deps?: boolean;
  readonly tlsVerify?: string;
  readonly build?: boolean;
  readonly forceRecreate?: boolean;
  /** commander's name for --no-recreate. */
  readonly recreate?: boolean;
  /** -t in ms. */
  readonly timeout?: number;
  readonly pull?: PullPolicy;
  readonly quietPull?: boolean;
  readonly abortOnContainerExit?: boolean;
  readonly exitCodeFrom?: string;
  readonly removeOrphans?: boolean;
  /** commander's name for --no-start. */
  readonly start?: boolean;
  /** Stopped containers with a checkpoint of their configuration start from it (converge/restore-on-up.ts). */
  readonly restore?: boolean;
}

const PULL_POLICIES: readonly PullPolicy[] = ['always', 'missing', 'never'];

function pullPolicy(value: string): PullPolicy {
  if (!(PULL_POLICIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`give ${PULL_POLICIES.join(', ')}`);
  return value as PullPolicy;
}

/** The flags that do not go together, refused before anything changes. */
function checkUpFlags(options: UpOptions): void {
  if (options.forceRecreate && options.recreate === false) throw new UsageError('--force-recreate and --no-recreate do not go together', 'choose one');
  const foregroundOnly = options.abortOnContainerExit ? '--abort-on-container-exit' : options.exitCodeFrom !== undefined ? '--exit-code-from' : undefined;
  if (foregroundOnly && (options.detach || options.wait)) throw new UsageError(`${foregroundOnly} needs up in the foreground`, 'leave out -d and --wait');
  const needsStart = options.wait ? '--wait' : foregroundOnly;
  if (options.start === false && needsStart) throw new UsageError(`--no-start and ${needsStart} do not go together: nothing would start`, `leave out one of them`);
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** The project file the options point at, with its images pulled or built (`up`, `create`, `run`). */
export async function loadProjectWithImages(options: TargetOptions & Pick<UpOptions, 'tlsVerify' | 'build' | 'pull' | 'quietPull'>, how: { edit?: (project: Project) => Project; progressTo?: NodeJS.WriteStream } = {}): Promise<Project> {
  const loaded = await loadTargetProject(options);
  return resolveImagesOf(how.edit ? how.edit(loaded) : loaded, options, how.progressTo ?? process.stdout);
}

async function resolveImagesOf(project: Project, options: Pick<UpOptions, 'tlsVerify' | 'build' | 'pull' | 'quietPull'>, progressTo: NodeJS.WriteStream): Promise<Project> {
  const [{ resolveProjectImages }, { reporterFor }] = await Promise.all([import('../images/resolve.js'), import('../images/progress.js')]);
  const reporter = options.quietPull ? undefined : await reporterFor(progressTo);
  return resolveProjectImages(project, dirsFromEnvironment().state, { tlsVerify: options.tlsVerify !== 'false', rebuild: options.build, reporter, pull: options.pull });
}

export async function runUp(pods: readonly string[], options: UpOptions): Promise<void> {
  checkUpFlags(options);
  const loaded = await loadTargetProject(options);
  // Checked before any pull or change: a wrong name is an input error.
  const exitCodeFrom = options.exitCodeFrom === undefined ? undefined : exitCodeSource(loaded, options.exitCodeFrom);
  const project = await resolveImagesOf(loaded, options, process.stdout);
  // Only what starts the early supervisor is loaded before it: its Node's start and module loading
  // (~0.2 s, which `up -d` waited out at its end) begin before this process loads the apply's modules.
  const [{ openRuntime }, launch] = await Promise.all([import('../runtime/context.js'), import('../supervisor/launch.js')]);
  const context = await openRuntime(project.name);
  const noDeps = options.deps === false;
  const detached = (options.detach || options.wait) && !options.dryRun && options.start !== false;
  // Its Node starts beside the apply rather than after it; it waits for the word (supervisor/hand-over.ts).
  const early = detached ? await launch.startEarlySupervisor(context) : undefined;
  try {
    const [{ reconcileProject, podsInScope }, { waitForProject }, { recordForBoot }, { ensureBootService }, { parseProfiles }] = await Promise.all([
      import('../converge/reconcile.js'), import('../converge/wait.js'), import('../converge/boot.js'), import('../converge/boot-service.js'), import('../project/profiles.js'),
    ]);
    if (options.restore && !options.dryRun) {
      const [{ requireCheckpointSupport }, { restoreOnUp }] = await Promise.all([import('../runtime/criu-check.js'), import('../converge/restore-on-up.js')]);
      await requireCheckpointSupport({ dirs: context.dirs, command: 'up --restore' });
      await restoreOnUp(context, project, { scope: podsInScope(project, pods, noDeps), say: print });
    }
    const recreate = options.forceRecreate ? new Map(project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, 'up --force-recreate'] as const))) : undefined;
    // --no-start: what `corral create` does, with up's choices of what to recreate.
    await reconcileProject(project, context, { dryRun: options.dryRun, onProgress: print, pods, noDeps, recreate, noRecreate: options.recreate === false, stopGraceMs: options.timeout, createOnly: options.start === false });
    if (options.dryRun || options.start === false) return;
    if (detached) {
      // --wait starts at once: the hand-over below (a new supervisor's start among it) took ~1.5 s,
      // which --wait spent after the last container was ready (bench: `up --wait` on a chain).
      const waited = options.wait ? waitForProject(context, project, { onProgress: print, pods: podsInScope(project, pods, noDeps) }) : undefined;
      // Seen by the await below; marked handled only so that a failing hand-over is the error reported.
      waited?.catch(() => {});
      // Left up: it comes back when the host boots (`corral boot`, run by the unit installed here once).
      await recordForBoot(context, project, options.profile?.length ? options.profile : parseProfiles(process.env.CORRAL_PROFILES));
      await ensureBootService(print);
      await launch.notifySupervisor(context, { early });
      await waited;
      return;
    }
  } finally {
    // Without the word (the apply failed): it exits, having touched nothing.
    await early?.dismiss();
  }

  const { startForegroundSession, stopOnSignals } = await import('../converge/foreground.js');
  const keepGoing = stopOnSignals();
  const session = await startForegroundSession(context, { onLine: print, keepGoing });
  if (options.abortOnContainerExit || exitCodeFrom) {
    // As compose: the first container to exit for good ends the session (and takes the project down).
    const resources = project.pods.filter((pod) => !pods.length || pods.includes(pod.name)).flatMap((pod) => pod.containers.map((container) => `${pod.name}/${container.name}`));
    const first = await Promise.race(resources.map((resource) => session.follow({ only: [resource], prefix: true }).then(() => resource)));
    const code = await exitCodeOf(context, exitCodeFrom ?? first);
    await session.end(keepGoing() ? `${first} exited; taking the project down` : 'stopping…');
    if (code === undefined) print(`${exitCodeFrom} had not exited when ${first} did: it was stopped with the project; exit code 1`);
    setExplainedExitCode(code ?? 1);
    return;
  }
  await session.follow();
  await session.end(keepGoing() ? 'all containers exited; taking the project down' : 'stopping…');
}

/** `--exit-code-from SERVICE`: the one container whose exit code `up` returns (a pod of one, or pod/container). */
function exitCodeSource(project: { pods: readonly { name: string; containers: readonly { name: string }[] }[] }, named: string): string {
  const [podName, containerName] = named.split('/');
  const pod = project.pods.find((candidate) => candidate.name === podName);
  const containers = pod?.containers.filter((container) => containerName === undefined || container.name === containerName) ?? [];
  if (containers.length === 1) return `${podName}/${containers[0]!.name}`;
  const choices = project.pods.flatMap((candidate) => candidate.containers.map((container) => `${candidate.name}/${container.name}`)).join(', ');
  throw new UsageError(containers.length === 0 ? `--exit-code-from ${named}: no such container in the project` : `--exit-code-from ${named}: pod ${podName} has ${containers.length} containers`, `name one of: ${choices}`);
}

async function exitCodeOf(context: RuntimeContext, resource: string): Promise<number | undefined> {
  const [{ readExitCode }, { containerId }] = await Promise.all([import('../runtime/conmon.js'), import('../state/paths.js')]);
  const [pod, name] = resource.split('/') as [string, string];
  return readExitCode(context.paths.exits, containerId(context.project, pod, name));
}

export function registerUp(program: Command): void {
  withStopTimeout(withTargetOptions(program
    .command('up')
    .argument('[pods...]', 'only these pods (and the pods they depend on)')
    .description('create and start the pods of the project file')))
    .option('-d, --detach', 'return once the containers run, leave them running')
    .option('--wait', 'detach and return once every container runs and is healthy (one-shot containers that exited 0 count as done)')
    .option('--no-deps', 'with pod names: leave the pods they depend on alone')
    .option('--dry-run', 'print the plan (create, recreate, remove, ... with causes) and change nothing')
    .option('--tls-verify <bool>', 'false: pull from registries, and build FROM their images, over plain HTTP or unverified TLS', 'true')
    .option('--build', 'build the images of build: again, even if built before')
    .option('--force-recreate', 'recreate every container, even those whose configuration did not change')
    .option('--no-recreate', 'leave containers whose configuration changed as they run')
    .option('--pull <policy>', 'always, missing or never: pull images so, whatever pull_policy says', pullPolicy)
    .option('--quiet-pull', 'pull without printing progress')
    .option('--abort-on-container-exit', 'in the foreground: take the project down when the first container exits')
    .option('--exit-code-from <pod/container>', 'in the foreground: exit with this container\'s exit code (implies --abort-on-container-exit)')
    .option('--no-start', 'create what is missing or changed, start nothing (as `corral create`)')
    .option('--remove-orphans', 'accepted for compose\'s sake: Corral always removes pods the file no longer has')
    .option('--restore', 'a stopped container with a checkpoint of its configuration (same config hash) starts from it, with its memory, instead of cold')
    .action(async (pods: string[], options: UpOptions, command: Command) => runUp(pods, { ...command.optsWithGlobals(), ...options }));
  withTargetOptions(program
    .command('diff')
    .argument('[pods...]', 'only these pods')
    .description('print what `up` would do (same as up --dry-run)'))
    .option('--no-deps', 'with pod names: leave the pods they depend on alone')
    .action(async (pods: string[], options: UpOptions, command: Command) => runUp(pods, { ...command.optsWithGlobals(), ...options, dryRun: true }));
}
