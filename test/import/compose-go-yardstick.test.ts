import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { COMPOSE_KEYS } from '../../src/import/compose-keys.js';
import { loadProject } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// The yardstick: every compose file of compose-go's loader test data (copied under
// test/fixtures/import/compose-go/loader/testdata/, see its README) that compose-go loads without
// error, Corral loads too (load + translate), or refuses at a key of its refused list, with that
// key's reason. The count is in README.md's compose section.

const TESTDATA = path.join(repositoryRoot, 'test/fixtures/import/compose-go/loader/testdata');

/** The files compose-go itself refuses, loaded on their own, and why: they are not part of the yardstick. */
const COMPOSE_GO_REFUSES: Readonly<Record<string, string>> = {
  'compose-include-cycle.yaml': 'an include cycle (loader/include_test.go expects the error)',
  'extends/base.yaml': 'service nil has neither an image nor a build context (loader/validate.go); the file is only extended from',
  'include/dir/compose.yaml': 'its env_file extra.env is missing (types/envfile.go): the file is only included, with project_directory: ../subdir, where extra.env is',
  'remote/cycle/compose-cycle.yaml': 'extends a remote: file, which needs compose-go\'s remote loaders (git, oci)',
};

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.yaml')).map((entry) => path.relative(TESTDATA, path.join(entry.parentPath, entry.name))).sort();
}

const REFUSAL_REASONS = new Set(Object.values(COMPOSE_KEYS).flatMap((fate) => (fate.fate === 'refused' ? [fate.reason] : [])));

/** Loads one file as a project of its own: 'loads', the refused key's reason, or the error that is neither. */
async function outcomeOf(file: string): Promise<{ loads: true } | { loads: false; refusedKey: boolean; error: ProjectError }> {
  try {
    await loadProject({ file: path.join(TESTDATA, file), projectName: 'yardstick', lookupEnv: () => undefined, dotenvFiles: [], onWarning: () => {} });
    return { loads: true };
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    return { loads: false, refusedKey: REFUSAL_REASONS.has(error.message), error };
  }
}

const yardstick = suite('compose-go\'s loader test data: what compose-go loads, Corral loads or refuses at a listed key');

yardstick('every file compose-go loads is loaded by Corral, or refused at a key of the refused list; the README has the count', async () => {
  const files = (await yamlFiles(TESTDATA)).filter((file) => !Object.hasOwn(COMPOSE_GO_REFUSES, file));
  assert.ok(files.length >= 20, `${files.length} files`);
  const refused: string[] = [];
  for (const file of files) {
    const outcome = await outcomeOf(file);
    if (outcome.loads) continue;
    assert.ok(outcome.refusedKey, `${file}: ${outcome.error.toString()} is not a refusal of the list`);
    refused.push(`${file} (${outcome.error.where.path}: ${outcome.error.message})`);
  }
  const loaded = files.length - refused.length;
  const summary = `Of the ${files.length} compose files of compose-go's loader test data that compose-go loads, Corral loads ${loaded} and refuses ${refused.length} at a key of the refused list`;
  const readme = readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8');
  assert.ok(readme.includes(summary), `README.md says: "${summary}" (refused: ${refused.join('; ')})`);
});

yardstick('the files left out are refused by compose-go itself, or need its remote loaders', async () => {
  const all = await yamlFiles(TESTDATA);
  for (const [file, why] of Object.entries(COMPOSE_GO_REFUSES)) {
    assert.ok(all.includes(file), `${file} is in the test data`);
    assert.is((await outcomeOf(file)).loads, false, `${file} is refused by Corral too: ${why}`);
  }
});

yardstick.run();
