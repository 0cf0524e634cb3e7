import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ImageError } from './errors.js';

// What a build can leave in buildah's storage, which every user of buildah on the host shares:
// working containers (buildah removes them itself unless it is killed: SIGKILL, OOM, a timeout's
// last resort) and the image it tagged (when Corral was killed but buildah went on and finished).
//
// `buildah bud` (1.28) can neither name nor label its working containers: their names come from
// the FROM image, and `--label` reaches only the committed image. So each build passes a build
// argument that buildah keeps in the record of every working container it makes (buildah.json,
// the file `buildah containers` itself reads): the build's work dir in the store, named
// `build-<pid>-…`. It tells which containers are Corral's, of which store, and whether the process
// that ran the build is still there to finish it; a container of another program is never touched.

/** The build argument that marks a build's working containers with its work dir. */
export const BUILD_ARGUMENT = 'CORRAL_BUILD';

export interface BuildContainer {
  readonly id: string;
  readonly name: string;
  /** The work dir of the build that made it. */
  readonly build: string;
}

/** The `buildah bud` arguments that mark the build's working containers. */
export function markingArguments(work: string): string[] {
  return ['--build-arg', `${BUILD_ARGUMENT}=${work}`];
}

/** The name a build tags its result with in buildah's storage, until it is moved into the store. */
export function buildTag(work: string): string {
  return `localhost/corral-build-${path.basename(work).toLowerCase()}`;
}

const TAG_PATTERN = /^localhost\/corral-build-build-(\d+)-[0-9a-z]+(?::latest)?$/;

// The process that ran a build is gone: nothing will finish or clean up after it. A build of this
// process is never over here (builds of one `up` run side by side).
async function isBuildOver(pid: number): Promise<boolean> {
  if (!pid || pid === process.pid) return false;
  return stat(`/proc/${pid}`).then(() => false, (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return true;
    throw error;
  });
}

const pidOfWorkDir = (work: string) => Number(/^build-(\d+)-/.exec(path.basename(work))?.[1]);

/** buildah's output, or undefined when buildah is not installed (then no build left anything). */
async function askBuildah(args: readonly string[]): Promise<string | undefined> {
  const { execa } = await import('execa');
  const result = await execa('buildah', args, { reject: false });
  if (result.code === 'ENOENT') return undefined;
  if (result.exitCode !== 0) throw new ImageError(`\`buildah ${args.join(' ')}\` failed: ${String(result.stderr).trim()} (is buildah's storage, /var/lib/containers/storage, healthy? \`buildah containers\` tells)`);
  return String(result.stdout);
}

/** Every working container on the host that a Corral build made, with the build it is of. */
export async function listBuildContainers(): Promise<BuildContainer[]> {
  const listed = await askBuildah(['containers', '--json']);
  // buildah prints `null` when it has no container at all.
  const containers = listed === undefined ? null : (JSON.parse(listed) as { id: string; containername: string }[] | null);
  if (!containers?.length) return [];
  const { store } = JSON.parse((await askBuildah(['info']))!) as { store: { GraphRoot: string; GraphDriverName: string } };
  const found: BuildContainer[] = [];
  for (const { id, containername } of containers) {
    const record = path.join(store.GraphRoot, `${store.GraphDriverName}-containers`, id, 'userdata', 'buildah.json');
    const text = await readFile(record, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined; // removed since it was listed
      throw error;
    });
    if (text === undefined) continue;
    let args: Record<string, string> | undefined;
    try {
      args = (JSON.parse(text) as { Args?: Record<string, string> }).Args;
    } catch (error) {
      throw new ImageError(`buildah's record of its container ${containername} (${record}) is not JSON: ${(error as Error).message} (see \`buildah inspect ${id}\`)`, { cause: error });
    }
    const build = args?.[BUILD_ARGUMENT];
    if (build) found.push({ id, name: containername, build });
  }
  return found;
}

/** Removes working containers; one already gone (its buildah got there first) is fine. */
export async function removeBuildContainers(containers: readonly BuildContainer[]): Promise<string[]> {
  const { execa } = await import('execa');
  const removed: string[] = [];
  for (const { id, name, build } of containers) {
    const result = await execa('buildah', ['rm', id], { reject: false });
    if (result.exitCode !== 0 && !/container not known/.test(String(result.stderr))) {
      throw new ImageError(`removing buildah's working container ${name} (${id.slice(0, 12)}) of the build ${build} failed: ${String(result.stderr).trim()} (remove it with \`buildah rm ${id}\`)`);
    }
    if (result.exitCode === 0) removed.push(`${name} (${id.slice(0, 12)})`);
  }
  return removed;
}

/**
 * What builds whose process is gone left in buildah's storage: the working containers of this
 * store's builds, and images tagged by a build (the tag does not tell the store; a dead build's is
 * garbage in any). Returns them as `buildah container NAME (ID)` and `buildah image TAG`.
 */
export async function removeDeadBuildLeftovers(storeRoot: string): Promise<string[]> {
  const { execa } = await import('execa');
  const ofThisStore = (await listBuildContainers()).filter(({ build }) => path.dirname(build) === storeRoot);
  const dead: BuildContainer[] = [];
  for (const container of ofThisStore) if (await isBuildOver(pidOfWorkDir(container.build))) dead.push(container);
  const removed = (await removeBuildContainers(dead)).map((container) => `buildah container ${container}`);
  const images = await askBuildah(['images', '--json']);
  const tags = images === undefined ? [] : ((JSON.parse(images) as { names: string[] | null }[] | null) ?? []).flatMap((image) => image.names ?? []);
  for (const tag of tags) {
    const pid = Number(TAG_PATTERN.exec(tag)?.[1]);
    if (!(await isBuildOver(pid))) continue;
    const result = await execa('buildah', ['rmi', tag], { reject: false });
    if (result.exitCode !== 0 && !/image not known/.test(String(result.stderr))) {
      throw new ImageError(`removing the image ${tag} a killed build left in buildah's storage failed: ${String(result.stderr).trim()} (remove it with \`buildah rmi ${tag}\`)`);
    }
    if (result.exitCode === 0) removed.push(`buildah image ${tag}`);
  }
  return removed;
}
