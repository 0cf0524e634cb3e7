import path from 'node:path';
import type { ImageBuild } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';
import type { ProvidedContents } from './provided-files.js';
import { keyValuesOf } from './key-values.js';

// A container's `build:`: the context and its Dockerfile (a file in it, or written inline), and what
// buildah is told besides (args, target, labels, secrets, no_cache, pull). Values are final here:
// an arg without a value takes the environment's, a secret its content, as containers' do.

type Raw = Record<string, unknown>;

/** The name a build gives the Dockerfile written from dockerfile_inline (outside the context). */
export const INLINE_DOCKERFILE = 'Dockerfile.inline';

export interface BuildContext {
  /** The build: key's own path (…containers.NAME.build). */
  readonly at: PathSegment[];
  readonly parsed: ParsedFile;
  readonly baseDir: string;
  readonly provided: ProvidedContents;
  readonly lookupEnv: (name: string) => string | undefined;
}

export function imageBuildOf(value: unknown, context: BuildContext): ImageBuild {
  const spec = (typeof value === 'string' ? { context: value } : value) as Raw;
  const { at, parsed } = context;
  if (spec.dockerfile !== undefined && spec.dockerfile_inline !== undefined) {
    throw errorAt(parsed, [...at, 'dockerfile_inline'], 'build has both dockerfile and dockerfile_inline: which one is the Dockerfile?', 'keep one of them; compose refuses both too', { key: true });
  }
  const args = spec.args === undefined ? undefined : argsOf(spec.args, context.lookupEnv);
  const labels = spec.labels === undefined ? undefined : keyValuesOf(spec.labels, () => '');
  const secrets = spec.secrets === undefined ? undefined : (spec.secrets as (string | Raw)[]).map((entry, index) => {
    const { source, target } = typeof entry === 'string' ? { source: entry, target: undefined } : entry;
    // The id the Dockerfile mounts it by: its target when given, as in compose.
    return { id: String(target ?? source), content: secretContent(String(source), [...at, 'secrets', index], context) };
  });
  const twice = secrets?.findIndex((secret, index) => secrets.findIndex((other) => other.id === secret.id) !== index) ?? -1;
  if (twice >= 0) throw errorAt(parsed, [...at, 'secrets', twice], `build secret id ${secrets![twice]!.id} is given twice: the Dockerfile could read only one of them`, 'give each secret its own target (the id the Dockerfile mounts it by), or remove one');
  return {
    context: path.resolve(context.baseDir, String(spec.context)),
    dockerfile: spec.dockerfile_inline === undefined ? String(spec.dockerfile ?? 'Dockerfile') : INLINE_DOCKERFILE,
    ...(spec.dockerfile_inline === undefined ? {} : { dockerfileInline: String(spec.dockerfile_inline) }),
    ...(args === undefined ? {} : { args }),
    ...(spec.target === undefined ? {} : { target: String(spec.target) }),
    ...(labels === undefined ? {} : { labels }),
    ...(secrets === undefined ? {} : { secrets }),
    ...(spec.no_cache === true ? { noCache: true as const } : {}),
    ...(spec.pull === true ? { pull: true as const } : {}),
  };
}

/**
 * As compose does: an arg written without a value (`- NAME` in a list, `NAME:` in a mapping) takes
 * the environment's value, and is left out when the environment has none, so the Dockerfile's
 * default applies.
 */
function argsOf(value: unknown, lookupEnv: (name: string) => string | undefined): Record<string, string> {
  if (Array.isArray(value)) return keyValuesOf(value, lookupEnv);
  const entries = Object.entries(value as Raw).map(([name, inner]) => [name, inner === null ? lookupEnv(name) : String(inner)] as const);
  return Object.fromEntries(entries.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
}

function secretContent(name: string, at: PathSegment[], context: BuildContext): string {
  const content = context.provided.secrets.get(name);
  if (content !== undefined) return content;
  const known = [...context.provided.secrets.keys()];
  throw errorAt(context.parsed, at, `build secret ${name} is not defined`, known.length ? `define it under secrets: at the top, or use one of: ${known.join(', ')}` : `define it under secrets: at the top, e.g. secrets: { ${name}: { file: ./${name}.txt } }`);
}
