import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeKeysMarkdown, withComposeKeys } from '../../src/import/compose-keys-readme.js';
import { COMPOSE_KEYS } from '../../src/import/compose-keys.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// README.md's compose section lists the keys as src/import/compose-keys.ts classifies them.

const readme = suite('README.md lists the compose keys as the table has them');

readme('the generated lists are in README.md as they are now (run npm run build to write them)', () => {
  const text = readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8');
  assert.ok(withComposeKeys(text) === text, 'README.md is in step with src/import/compose-keys.ts: run npm run build (scripts/readme-compose-keys.mjs)');
});

readme('every key of the table is in the lists, refusals with their reasons', () => {
  const markdown = composeKeysMarkdown();
  for (const [at, fate] of Object.entries(COMPOSE_KEYS)) {
    const key = at.split(/\.|\[\]\./).at(-1)!;
    assert.ok(markdown.includes(fate.fate === 'carried' ? `\`${key}\`` : `\`${at}\``), `${at} is listed`);
    if (fate.fate === 'refused') assert.ok(markdown.includes(fate.reason), `${at} with its reason`);
  }
});

readme.run();
