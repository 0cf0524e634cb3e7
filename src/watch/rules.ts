import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { cp, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { Container, Project, WatchRule } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import * as runc from '../runtime/runc.js';
import { containerId } from '../state/paths.js';
import { QUIET_MS } from '../coalesce.js';
import { namedVolumeSource } from '../runtime/host-volume.js';
import { execFlags } from '../runtime/hooks.js';

// Per-container `watch:` rules, as in `docker compose watch`: changed files are synced into the
// container's view (through its overlay root, so the write lands in its own upper dir, or through
// a volume mount under the target), then, as the rule says, nothing more, a restart, or a command
// run inside it; `restart`, `recreate` and `rebuild` rules only do that. .gitignore, .dockerignore and the
// rule's ignore patterns keep files out; its include patterns, when given, name the only files that count.

/** How long a sync+exec command may run. */
const EXEC_TIMEOUT_MS = 60_000;

/** Whether a changed file (relative to the rule's path) counts: not ignored, and, when the rule has include patterns, matched by one. */
export type FileFilter = (relative: string) => boolean;

/** The rule's filter, given what its .gitignore and .dockerignore say. */
export function fileFilter(rule: Pick<WatchRule, 'ignore' | 'include'>, ignoreFiles: readonly string[] = []): FileFilter {
  const ignored = ignore().add([...rule.ignore, '.git', ...ignoreFiles]);
  const included = rule.include && ignore().add([...rule.include]);
  return (relative) => !ignored.ignores(relative) && (!included || included.ignores(relative));
}

/** What keeps files out of a rule's directories (its ignore patterns, .gitignore, .dockerignore); include is left to fileFilter, as a pattern of files does not match their directories. */
async function ignoreFilesOf(rule: WatchRule): Promise<string[]> {
  return Promise.all(['.gitignore', '.dockerignore'].map((file) => readFile(path.join(rule.path, file), 'utf8').catch(() => '')));
}

/** Where a target path of the container is on the host: inside a mount's source, else its overlay root. */
function hostPathOf(context: RuntimeContext, container: Container, id: string, target: string): string {
  const mount = container.mounts
    .filter((candidate) => candidate.type !== 'tmpfs' && (target === candidate.target || target.startsWith(`${candidate.target}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (mount) {
    const source = mount.type === 'named' ? namedVolumeSource(context, mount) : mount.source;
    return path.join(source, path.relative(mount.target, target));
  }
  return path.join(context.paths.container(id).rootfs, target);
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(entries.map((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : Promise.resolve([path.relative(base, full)]);
  }));
  return nested.flat();
}

export interface RuleRunner {
  /** Syncs everything of the rules with initial_sync (at start, and after a container was recreated). */
  initialSync(resources?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RuleActions {
  readonly onLine: (line: string) => void;
  /** Restarts the container in place (its writable layer, and so what was synced, stays). */
  readonly restart: (resource: string) => Promise<void>;
  /** Makes the container anew from the project file. */
  readonly recreate: (resource: string) => Promise<void>;
  /** Builds the container's image again, then makes the container anew from it. */
  readonly rebuild: (resource: string) => Promise<void>;
}

export async function runWatchRules(context: RuntimeContext, project: () => Project, options: RuleActions): Promise<RuleRunner> {
  const say = options.onLine;
  const watchers: FSWatcher[] = [];
  const ready: Promise<void>[] = [];
  let closed = false;
  const entries = project().pods.flatMap((pod) => pod.containers.flatMap((container) => (container.watch ?? []).map((rule) => ({ pod: pod.name, container: container.name, rule }))));
  const containerNow = (pod: string, name: string) => project().pods.find((candidate) => candidate.name === pod)?.containers.find((candidate) => candidate.name === name);

  const sync = async (pod: string, name: string, rule: WatchRule, relatives: readonly string[]) => {
    const container = containerNow(pod, name);
    if (!container || !rule.target) return;
    const id = containerId(context.project, pod, name);
    for (const relative of relatives) {
      const from = path.join(rule.path, relative);
      const to = hostPathOf(context, container, id, path.posix.join(rule.target, relative));
      const exists = await stat(from).then(() => true, () => false);
      if (exists) {
        await mkdir(path.dirname(to), { recursive: true });
        await cp(from, to, { recursive: true, force: true });
      } else {
        await rm(to, { recursive: true, force: true });
      }
    }
  };

  const act = async (pod: string, name: string, rule: WatchRule, relatives: readonly string[]) => {
    const resource = `${pod}/${name}`;
    const id = containerId(context.project, pod, name);
    try {
      if (rule.action.startsWith('sync')) await sync(pod, name, rule, relatives);
      if (rule.action === 'sync+restart' || rule.action === 'restart') {
        await options.restart(resource);
      } else if (rule.action === 'sync+exec') {
        const exec = rule.exec!;
        const result = await runc.execWithFlags(context.runc, id, await execFlags(context, id, exec), exec.argv, EXEC_TIMEOUT_MS);
        if (result.exitCode !== 0) throw new Error(`exec ${exec.argv.join(' ')}: exit ${result.exitCode}: ${String(result.all ?? '').trim()}`);
      } else if (rule.action === 'recreate') {
        await options.recreate(resource);
      } else if (rule.action === 'rebuild') {
        await options.rebuild(resource);
      }
      say(`watch: ${resource}  ${rule.action} (${relatives.length} file${relatives.length === 1 ? '' : 's'})`);
    } catch (error) {
      say(`watch: ${resource}  ${rule.action} failed: ${(error as Error).message}`);
    }
  };

  for (const { pod, container, rule } of entries) {
    const ignoreFiles = await ignoreFilesOf(rule);
    const walked = fileFilter({ ignore: rule.ignore }, ignoreFiles);
    const counts = fileFilter(rule, ignoreFiles);
    const pending = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const watcher = watchFiles(rule.path, {
      ignoreInitial: true,
      ignored: (file: string) => {
        const relative = path.relative(rule.path, file);
        return relative !== '' && !relative.startsWith('..') && !walked(relative);
      },
    });
    watcher.on('all', (_event, file) => {
      const relative = path.relative(rule.path, file);
      if (relative !== '' && !counts(relative)) return;
      pending.add(relative);
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (closed) return;
        const changed = [...pending];
        pending.clear();
        // One action of a rule at a time, in order.
        running = running.then(() => act(pod, container, rule, changed));
      }, QUIET_MS);
    });
    watchers.push(watcher);
    // Listened for at once: the next rule's await may let this watcher get ready unseen.
    ready.push(new Promise<void>((resolve) => watcher.once('ready', () => resolve())));
  }
  await Promise.all(ready);

  return {
    async initialSync(resources) {
      for (const { pod, container, rule } of entries) {
        if (!rule.initialSync || !rule.action.startsWith('sync')) continue;
        if (resources && !resources.includes(`${pod}/${container}`)) continue;
        const counts = fileFilter(rule, await ignoreFilesOf(rule));
        const files = (await listFiles(rule.path)).filter(counts);
        await sync(pod, container, rule, files);
        say(`watch: ${pod}/${container}  initial sync (${files.length} files)`);
      }
    },
    async close() {
      closed = true;
      await Promise.all(watchers.map((watcher) => watcher.close()));
    },
  };
}
