import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageBuild } from '../project/model.js';
import { buildahSettingArguments, buildSettingsHash, type BuildFiles } from './build-settings.js';
import { buildTag, listBuildContainers, markingArguments, removeBuildContainers, removeDeadBuildLeftovers } from './build-leftovers.js';
import { removeDeadPulls } from './pull.js';
import { ImageError, importLayout, type ImageStore, type StoredImage } from './store.js';

// `build:` builds with buildah (chroot isolation, as it works on this kind of host without a
// daemon), then moves the image into Corral's own store through an OCI layout and drops it from
// buildah's storage, so only one copy remains. Nothing of a build stays in buildah's storage, which
// other programs share: see build-leftovers.ts for how its working containers are told apart.

const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface BuildFailure {
  readonly ref: string;
  readonly dockerfile: string;
  /** buildah's stdout and stderr, interleaved. */
  readonly output: string;
  readonly signal?: string;
  readonly timedOut?: boolean;
}

/**
 * One line that names the image, the Dockerfile and the step that failed, with the step's last
 * output. buildah ends a failed build with `Error: building at STEP "RUN …": why`.
 */
export function describeBuildFailure({ ref, dockerfile, output, signal, timedOut }: BuildFailure): string {
  if (timedOut) return `building ${ref} with ${dockerfile} took more than ${BUILD_TIMEOUT_MS / 60_000} minutes and was stopped (make the build faster, or build the image yourself and name it in \`image:\`)`;
  if (signal) return `building ${ref} with ${dockerfile} failed: buildah was killed by ${signal} (run \`corral up\` again)`;
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const step = lines.map((line) => /^Error: building at STEP "(.*?)": (.*)$/.exec(line)).reverse().find(Boolean);
  const before = lines.filter((line) => !line.startsWith('Error: ')).filter((line, index, all) => line !== all[index - 1]).slice(-4);
  const said = before.length > 0 ? ` (its last output: ${before.join(' | ')})` : '';
  if (step) return `building ${ref} failed at step \`${step[1]}\` of ${dockerfile}: ${step[2]}${said}; fix that step and run \`corral up\` again`;
  return `building ${ref} with ${dockerfile} failed: ${lines.slice(-5).join(' | ') || 'buildah said nothing'} (fix the Dockerfile and run \`corral up\` again)`;
}

export interface BuildRequest {
  /** The reference the image is stored under. */
  readonly ref: string;
  readonly build: ImageBuild;
  /** false: buildah reaches registries (of FROM images) over plain HTTP or unverified TLS. */
  readonly tlsVerify?: boolean;
  readonly onProgress?: (line: string) => void;
}

export async function buildImage(store: ImageStore, { ref, build, tlsVerify, onProgress }: BuildRequest): Promise<StoredImage> {
  const { execa } = await import('execa');
  await mkdir(store.root, { recursive: true, mode: 0o700 });
  // What killed builds and pulls of this store left, as a pull does before it starts.
  await removeDeadBuildLeftovers(store.root);
  await removeDeadPulls(store);
  const work = await mkdtemp(path.join(store.root, `build-${process.pid}-`));
  const tag = buildTag(work);
  // An inline Dockerfile is named by what the user wrote: its file in the work dir is gone after the build.
  const dockerfile = build.dockerfileInline === undefined ? path.join(build.context, build.dockerfile) : `the dockerfile_inline of ${ref}`;
  let image: StoredImage;
  try {
    onProgress?.(`building ${ref} from ${build.context}`);
    const files = await writeBuildFiles(work, build);
    const bud = await execa('buildah', [
      'bud', '--isolation', 'chroot', '--ulimit', 'nofile=1024:1024', '--quiet',
      // --force-rm removes the working containers of a failed build too (buildah 1.28 takes it only
      // with --layers given). --layers=false keeps BUILDAH_LAYERS=true in the environment from
      // making buildah keep intermediate images, and the container of a failed step, for a cache
      // nobody uses: the result leaves buildah's storage anyway.
      '--layers=false', '--force-rm', ...markingArguments(work),
      ...buildahSettingArguments(build, files, { tlsVerify }), '-t', tag, build.context,
    ], { reject: false, all: true, timeout: BUILD_TIMEOUT_MS });
    if (bud.exitCode !== 0) throw new ImageError(describeBuildFailure({ ref, dockerfile, output: String(bud.all ?? ''), signal: bud.signal, timedOut: bud.timedOut }));
    const push = await execa('buildah', ['push', '--quiet', tag, `oci:${path.join(work, 'layout')}:image`], { reject: false });
    if (push.exitCode !== 0) throw new ImageError(`exporting the build of ${ref} failed: ${String(push.stderr).trim()}`);
    image = await importLayout(store, path.join(work, 'layout'), ref, { buildHash: buildSettingsHash(build) });
  } catch (error) {
    await removeWhatTheBuildLeft(work, tag).catch((cleanup: Error) => {
      // The build's own failure says more: the cleanup's is added to it, not put in its place.
      throw new ImageError(`${(error as Error).message}; and cleaning up after it: ${cleanup.message}`, { cause: error });
    });
    throw error;
  }
  await removeWhatTheBuildLeft(work, tag);
  onProgress?.(`✔ ${ref}  built (${image.id.slice(7, 19)})`);
  return image;
}

/**
 * What the model holds as text, written where buildah reads it: the inline Dockerfile and the
 * secrets, in the build's work dir (private to root, removed with it), never in the user's context.
 */
async function writeBuildFiles(work: string, build: ImageBuild): Promise<BuildFiles> {
  const inputs = path.join(work, 'inputs');
  await mkdir(inputs, { mode: 0o700 });
  let dockerfile = path.join(build.context, build.dockerfile);
  if (build.dockerfileInline !== undefined) {
    dockerfile = path.join(inputs, build.dockerfile);
    await writeFile(dockerfile, build.dockerfileInline, { mode: 0o600 });
  }
  const secrets: Record<string, string> = {};
  for (const [index, { id, content }] of (build.secrets ?? []).entries()) {
    // By index: a secret's name is the user's, the file's name need not be safe.
    secrets[id] = path.join(inputs, `secret-${index}`);
    await writeFile(secrets[id], content, { mode: 0o600 });
  }
  return { dockerfile, secrets };
}

// On every way out: its working containers (buildah's own cleanup is skipped when buildah is
// killed, as on the timeout's SIGKILL), its tag in buildah's storage and its work dir.
async function removeWhatTheBuildLeft(work: string, tag: string): Promise<void> {
  const { execa } = await import('execa');
  await removeBuildContainers((await listBuildContainers()).filter((container) => container.build === work));
  await execa('buildah', ['rmi', '--force', tag], { reject: false });
  await rm(work, { recursive: true, force: true });
}
