import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { ImageBuild } from '../project/model.js';

// What buildah is told for a `build:`, and what says whether the image in the store was built as
// the file now asks: a hash of the build settings, recorded with the image. A changed arg, target,
// label, secret or Dockerfile name builds the image again on the next `up`, without `--build`; the
// context's files are not hashed (a changed file in it needs `up --build`, as in compose).

/** Where the build finds what the model holds as text: the Dockerfile and each secret, by id. */
export interface BuildFiles {
  readonly dockerfile: string;
  readonly secrets: Readonly<Record<string, string>>;
}

/** buildah bud's arguments for the settings of `build` (without the context, the tag and Corral's own). */
export function buildahSettingArguments(build: ImageBuild, files: BuildFiles, options: { readonly tlsVerify?: boolean } = {}): string[] {
  return [
    '-f', files.dockerfile,
    ...Object.entries(build.args ?? {}).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    ...(build.target === undefined ? [] : ['--target', build.target]),
    ...Object.entries(build.labels ?? {}).flatMap(([name, value]) => ['--label', `${name}=${value}`]),
    ...(build.secrets ?? []).flatMap(({ id }) => ['--secret', `id=${id},src=${files.secrets[id]}`]),
    ...(build.noCache ? ['--no-cache'] : []),
    // buildah 1.28 has no --pull-always; --pull=always is the same.
    ...(build.pull ? ['--pull=always'] : []),
    ...(options.tlsVerify === false ? ['--tls-verify=false'] : []),
  ];
}

/** sha256 of the build settings (a secret's content included, but only as part of the digest). */
export function buildSettingsHash(build: ImageBuild): string {
  return `sha256:${createHash('sha256').update(canonicalJson(build)).digest('hex')}`;
}

/** Settings a build can have beyond its context and Dockerfile. */
const LATER_SETTINGS: readonly (keyof ImageBuild)[] = ['dockerfileInline', 'args', 'target', 'labels', 'secrets', 'noCache', 'pull'];

/**
 * Whether an image of the store was built as `build` says. An image recorded without a hash was
 * built by a Corral before the hash, or pulled under the same name: it stands for a plain build (as
 * it did then), not for one with settings it could not have had.
 */
export function isBuiltAs(recorded: string | undefined, build: ImageBuild): boolean {
  if (recorded === undefined) return LATER_SETTINGS.every((key) => build[key] === undefined);
  return recorded === buildSettingsHash(build);
}
