import { watch as watchFiles } from 'chokidar';
import path from 'node:path';
import { ImageError, imageStore } from '../images/store.js';
import { buildImage } from '../images/build.js';
import { ProjectError } from '../project/errors.js';
import type { Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { reconcileProject } from '../converge/reconcile.js';
import { startForegroundSession } from '../converge/foreground.js';
import { askSupervisor } from '../supervisor/socket.js';
import { coalesce, QUIET_MS } from '../coalesce.js';
import { runWatchRules, type RuleActions } from './rules.js';
import { canonicalJson } from '../plan/hash.js';
import { NEW_PROCESS, type Plan } from '../plan/plan.js';

// `corral watch`: the project in the foreground, like `up`, re-applied whenever the project file, its
// .env or its env_files change. Only what changed is recreated (the config hash decides). A file
// that does not load is reported with its line and column, and the last good state keeps running.

export interface WatchOptions {
  /** Loads the project as the first load did (same file, name and profiles), images resolved. */
  readonly load: () => Promise<Project>;
  readonly onLine: (line: string) => void;
  /** A one-line status (last apply, what changed, how long), on a terminal. */
  readonly onStatus?: (line: string) => void;
  /** Quiet time that closes a burst of changes, in ms. */
  readonly quietMs?: number;
  readonly keepGoing: () => boolean;
}

/** How often the foreground checks whether it was told to stop. */
const STOP_POLL_MS = 100;
/** The cause a `recreate` watch rule gives its container's recreate operation. */
const RULE_RECREATE_CAUSE = 'a watched file changed and its watch rule says recreate';
/** The cause a `rebuild` watch rule gives its container's recreate operation. */
const RULE_REBUILD_CAUSE = 'a watched file changed and its watch rule rebuilt the image';

/** The watch rules of every container, as comparable text. */
function watchRulesText(project: Project): string {
  return canonicalJson(project.pods.map((pod) => pod.containers.map((container) => [pod.name, container.name, container.watch ?? []])));
}

function describeChanges(plan: Plan): string {
  const changed = plan.operations.map((operation) => `${operation.kind} ${operation.resource}`);
  return changed.length > 0 ? changed.join(', ') : 'nothing changed';
}

export async function runWatch(context: RuntimeContext, first: Project, options: WatchOptions): Promise<void> {
  const say = options.onLine;
  const status = options.onStatus ?? say;
  const firstPlan = await reconcileProject(first, context, { onProgress: say });
  const session = await startForegroundSession(context, { onLine: say, keepGoing: options.keepGoing });
  const follow = (resources: readonly string[]) => {
    if (resources.length > 0) void session.follow({ only: resources, prefix: true });
  };
  follow(first.pods.flatMap((pod) => pod.containers.map((container) => `${pod.name}/${container.name}`)));

  let current = first;
  let applies: ReturnType<typeof coalesce> | undefined;
  // What the rules asked to recreate, carried out by the next apply as operations of its plan.
  const recreates = new Map<string, string>();
  const ruleActions: RuleActions = {
    onLine: say,
    // Through the supervisor: its machine restarts it, and the log follower knows it comes back.
    restart: async (resource) => {
      const answer = await askSupervisor(context.paths.supervisorSocket, { op: 'restart', resources: [resource] });
      if (!answer?.ok) throw new Error(`the supervisor did not take the restart: ${answer?.error ?? 'no answer'}`);
    },
    recreate: async (resource) => {
      recreates.set(resource, RULE_RECREATE_CAUSE);
      applies?.poke();
    },
    // As `up --build` for this one image; the next apply loads the new image, and so recreates the container.
    rebuild: async (resource) => {
      const [pod, name] = resource.split('/');
      const image = current.pods.find((candidate) => candidate.name === pod)?.containers.find((candidate) => candidate.name === name)?.image;
      if (!image?.build) throw new Error(`${resource} has no build: to rebuild its image from`);
      await buildImage(imageStore(context.dirs.state), { ref: image.ref, build: image.build, onProgress: say });
      recreates.set(resource, RULE_REBUILD_CAUSE);
      applies?.poke();
    },
  };
  let rules = await runWatchRules(context, () => current, ruleActions);
  await rules.initialSync();

  let watched = new Set(first.sources);
  const watcher = watchFiles([...watched], { ignoreInitial: true, atomic: true });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  const apply = async () => {
    const started = performance.now();
    let project: Project;
    try {
      project = await options.load();
    } catch (error) {
      // Whatever the reason (a half-written file, a registry away), the running state stays.
      const known = error instanceof ProjectError || error instanceof ImageError;
      say(`corral: ${known ? error.toString() : (error as Error).message}`);
      status('the file does not load: the last good state keeps running; fix it and save again');
      return;
    }
    try {
      const asked = new Map(recreates);
      const plan = await reconcileProject(project, context, { onProgress: say, recreate: asked });
      for (const resource of asked.keys()) recreates.delete(resource);
      const rulesChanged = watchRulesText(project) !== watchRulesText(current);
      current = project;
      follow(plan.operations.filter((operation) => NEW_PROCESS.includes(operation.kind)).map((operation) => operation.resource));
      if (rulesChanged) {
        // The rules are part of the file too: watch what they say now, and sync as they say.
        await rules.close();
        rules = await runWatchRules(context, () => current, ruleActions);
        say('watch: rules reloaded');
        await rules.initialSync();
      } else {
        // A new container starts from its image: sync into it again.
        await rules.initialSync(plan.operations.filter((operation) => operation.kind === 'create' || operation.kind === 'recreate').map((operation) => operation.resource));
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      status(`applied at ${new Date().toLocaleTimeString()}: ${describeChanges(plan)} (${seconds}s)`);
    } catch (error) {
      say(`corral: ${(error as Error).message}`);
      status('the apply failed: fix the cause and save again');
    }
    // env_file lists may have changed: watch what the project is read from now.
    const now = new Set(project.sources);
    watcher.add([...now].filter((source) => !watched.has(source)));
    watched = now;
  };
  applies = coalesce(apply, { quietMs: options.quietMs ?? QUIET_MS });
  const coalesced = applies;
  watcher.on('all', () => coalesced.poke());
  // "watching" must be true when it is said: a save right after it is seen.
  await ready;
  status(`watching ${first.sources.map((source) => path.relative(process.cwd(), source) || source).join(', ')} (${describeChanges(firstPlan)})`);

  while (options.keepGoing()) await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
  coalesced.stop();
  await coalesced.idle();
  await watcher.close();
  await rules.close();
  await session.end('stopping…');
}
