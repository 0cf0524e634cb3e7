// Build step: writes the compose section's lists of carried, refused and warned keys into README.md,
// from src/import/compose-keys.ts (compiled by tsc before this runs). test/import/compose-keys-readme.test.ts
// fails when README.md is out of step, so a change to the table shows in the README of the same commit.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { withComposeKeys } = await import(path.join(root, 'dist/src/import/compose-keys-readme.js'));
const file = path.join(root, 'README.md');
const before = readFileSync(file, 'utf8');
const after = withComposeKeys(before);
if (after !== before) {
  writeFileSync(file, after);
  console.log('README.md: the compose keys written');
}
