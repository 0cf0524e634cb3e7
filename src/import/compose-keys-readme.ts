import { BEYOND_THE_SPEC, COMPOSE_KEYS, type KeyFate } from './compose-keys.js';

// The compose section of README.md lists what Corral carries, refuses and warns about, written from
// the same table the translation and the schema-walk test use, so the README cannot drift from them:
// scripts/readme-compose-keys.mjs writes it (npm run build), test/import/compose-keys-readme.test.ts
// fails when README.md is out of step.

export const README_BEGIN = '<!-- compose-keys:begin: written by scripts/readme-compose-keys.mjs from src/import/compose-keys.ts; do not edit -->';
export const README_END = '<!-- compose-keys:end -->';

const code = (text: string) => `\`${text}\``;

/** `services.*.build.args` -> parent `services.*.build`, key `args`. */
function split(at: string): { parent: string; key: string } {
  const cut = at.lastIndexOf('.');
  return cut < 0 ? { parent: '', key: at } : { parent: at.slice(0, cut), key: at.slice(cut + 1) };
}

const entries = (fate: KeyFate['fate']) => Object.entries(COMPOSE_KEYS).filter(([, one]) => one.fate === fate).sort(([a], [b]) => (a < b ? -1 : 1));

/** The three lists as Markdown. */
export function composeKeysMarkdown(): string {
  const carried = entries('carried');
  const byParent = new Map<string, string[]>();
  for (const [at] of carried) {
    const { parent, key } = split(at);
    byParent.set(parent, [...(byParent.get(parent) ?? []), `${code(key)}${BEYOND_THE_SPEC.includes(at) ? ' (beyond the specification)' : ''}`]);
  }
  const line = (at: string, fate: KeyFate) => {
    const values = fate.fate !== 'carried' && fate.unless ? ' (unless its value is what Corral does anyway)' : '';
    return fate.fate === 'refused' ? `- ${code(at)}${values}: ${fate.reason}. Instead: ${fate.fix}.` : fate.fate === 'warned' ? `- ${code(at)}${values}: ${fate.reason}.` : '';
  };
  return [
    `**Carried over** (${carried.length} keys; \`*\` is any name, \`[]\` any item of a list):`,
    '',
    ...[...byParent].map(([parent, keys]) => `- ${parent ? code(parent) : 'top level'}: ${keys.join(', ')}`),
    '',
    `**Refused** at the key's line, with the reason and how to rewrite it (${entries('refused').length} keys; a key the specification does not have is refused too):`,
    '',
    ...entries('refused').map(([at, fate]) => line(at, fate)),
    '',
    `**Warned** about at the key's line and ignored, as ignoring it does not change how the project runs (${entries('warned').length} keys):`,
    '',
    ...entries('warned').map(([at, fate]) => line(at, fate)),
  ].join('\n');
}

/** README.md's text with the lists between the markers made current; throws when the markers are missing. */
export function withComposeKeys(readme: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${README_BEGIN} ... ${README_END} section`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${composeKeysMarkdown()}\n${readme.slice(end)}`;
}
