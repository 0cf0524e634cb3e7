import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findProjectFiles } from '../../src/cli/project-files.js';
import { UsageError } from '../../src/cli/errors.js';
import { resolveTarget } from '../../src/cli/target.js';
import { pathExists } from '../../src/state/read.js';

// Which files and which environment a command starts from, as compose finds them, in a real tree of
// temporary directories: the search up from the current directory, the override file beside,
// COMPOSE_FILE and its separator, --project-directory, and .env / --env-file with the process's
// environment winning.

interface Context { root: string }
const discovery = suite<Context>('project files found as compose finds them');

/** Files under the context's root, as `relative path: content`. */
async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

discovery.before.each(async (context) => {
  context.root = await mkdtemp(path.join(os.tmpdir(), 'corral-project-files-'));
});

discovery.after.each(async (context) => {
  await rm(context.root, { recursive: true, force: true });
});

const find = (root: string, options: { cwd?: string; files?: string[]; projectDirectory?: string; env?: Record<string, string> } = {}) => findProjectFiles({
  cwd: path.join(root, options.cwd ?? '.'),
  ...(options.files ? { files: options.files } : {}),
  ...(options.projectDirectory ? { projectDirectory: options.projectDirectory } : {}),
  lookupEnv: (name) => options.env?.[name],
  exists: pathExists,
});

const relative = (root: string, files: readonly string[]) => files.map((file) => path.relative(root, file));

const cases: { name: string; files: string[]; cwd?: string; args?: { files?: string[]; projectDirectory?: string; env?: Record<string, string> }; found: string[]; passedOver?: string[] }[] = [
  { name: 'corral.yaml in the current directory', files: ['app/corral.yaml'], cwd: 'app', found: ['app/corral.yaml'] },
  { name: 'compose.yaml in a parent directory, from a subdirectory', files: ['app/compose.yaml', 'app/src/deep/.keep'], cwd: 'app/src/deep', found: ['app/compose.yaml'] },
  { name: 'the nearest directory wins', files: ['compose.yaml', 'app/docker-compose.yml', 'app/src/.keep'], cwd: 'app/src', found: ['app/docker-compose.yml'] },
  { name: 'the override file beside the compose file comes second', files: ['app/compose.yaml', 'app/compose.override.yaml'], cwd: 'app', found: ['app/compose.yaml', 'app/compose.override.yaml'] },
  { name: 'compose\'s order: compose.yaml before docker-compose.yml before docker-compose.yaml', files: ['app/docker-compose.yaml', 'app/docker-compose.yml', 'app/compose.yaml'], cwd: 'app', found: ['app/compose.yaml'], passedOver: ['app/docker-compose.yml', 'app/docker-compose.yaml'] },
  { name: 'override names in compose\'s order: .yml first', files: ['app/docker-compose.yml', 'app/docker-compose.override.yaml', 'app/compose.override.yml'], cwd: 'app', found: ['app/docker-compose.yml', 'app/compose.override.yml'], passedOver: ['app/docker-compose.override.yaml'] },
  { name: 'corral.yaml before compose.yaml, and no override over it', files: ['app/corral.yaml', 'app/compose.yaml', 'app/compose.override.yaml'], cwd: 'app', found: ['app/corral.yaml'], passedOver: ['app/compose.yaml'] },
  { name: '-f, several times, relative to the current directory', files: ['app/a.yaml', 'app/compose.yaml'], cwd: 'app', args: { files: ['a.yaml', '../b.yaml'] }, found: ['app/a.yaml', 'b.yaml'] },
  { name: 'COMPOSE_FILE with the default separator', files: ['app/one.yaml', 'app/two.yaml', 'app/compose.yaml'], cwd: 'app', args: { env: { COMPOSE_FILE: 'one.yaml:two.yaml' } }, found: ['app/one.yaml', 'app/two.yaml'] },
  { name: 'COMPOSE_FILE with COMPOSE_PATH_SEPARATOR', files: ['app/one.yaml', 'app/two.yaml'], cwd: 'app', args: { env: { COMPOSE_FILE: 'one.yaml;two.yaml', COMPOSE_PATH_SEPARATOR: ';' } }, found: ['app/one.yaml', 'app/two.yaml'] },
  { name: '-f wins over COMPOSE_FILE', files: ['app/one.yaml', 'app/two.yaml'], cwd: 'app', args: { files: ['two.yaml'], env: { COMPOSE_FILE: 'one.yaml' } }, found: ['app/two.yaml'] },
  { name: '--project-directory is where the search starts', files: ['here/compose.yaml', 'there/compose.yml'], cwd: 'here', args: { projectDirectory: '../there' }, found: ['there/compose.yml'] },
  { name: 'nothing up to /: no file', files: ['empty/.keep'], cwd: 'empty', found: [] },
];

for (const scenario of cases) {
  discovery(scenario.name, async (context) => {
    await tree(context.root, Object.fromEntries(scenario.files.map((file) => [file, 'services: {}\n'])));
    const found = await find(context.root, { cwd: scenario.cwd, ...scenario.args });
    assert.equal(relative(context.root, found.files), scenario.found, 'the files found');
    assert.equal(relative(context.root, found.passedOver), scenario.passedOver ?? [], 'the files passed over');
  });
}

discovery('COMPOSE_FILE naming a file that is not there is refused with its path', async (context) => {
  try {
    await find(context.root, { env: { COMPOSE_FILE: 'missing.yaml' } });
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, UsageError, 'a usage error');
    assert.match((error as Error).message, path.join(context.root, 'missing.yaml'), 'names the file');
  }
});

discovery.run();

const environment = suite<Context>('the environment a command starts from, as compose reads it');

environment.before.each(async (context) => {
  context.root = await mkdtemp(path.join(os.tmpdir(), 'corral-project-env-'));
});

environment.after.each(async (context) => {
  await rm(context.root, { recursive: true, force: true });
});

environment('.env in the current directory may set COMPOSE_FILE and COMPOSE_PROJECT_NAME; the process environment wins', async (context) => {
  await tree(context.root, { 'app/.env': 'COMPOSE_FILE=files/main.yaml\nCOMPOSE_PROJECT_NAME=fromdotenv\nGREETING=dotenv\n', 'app/files/main.yaml': 'services: {}\n' });
  const target = await resolveTarget({}, { cwd: path.join(context.root, 'app'), env: { GREETING: 'process' } });
  assert.equal(relative(context.root, target.found.files), ['app/files/main.yaml'], 'COMPOSE_FILE from .env');
  assert.is(target.givenName, 'fromdotenv', 'COMPOSE_PROJECT_NAME from .env');
  assert.is(target.environment.GREETING, 'process', 'the process environment wins over .env');
});

environment('-p wins over COMPOSE_PROJECT_NAME; an invalid one is refused, naming where it came from', async (context) => {
  const host = { cwd: context.root, env: { COMPOSE_PROJECT_NAME: 'fromenv' } };
  assert.is((await resolveTarget({ projectName: 'given' }, host)).givenName, 'given', '-p first');
  assert.is((await resolveTarget({}, host)).givenName, 'fromenv', 'then COMPOSE_PROJECT_NAME');
  for (const [options, env, from] of [[{ projectName: '../other' }, {}, '-p'], [{}, { COMPOSE_PROJECT_NAME: 'My App' }, 'COMPOSE_PROJECT_NAME']] as const) {
    try {
      await resolveTarget(options, { cwd: context.root, env });
      assert.unreachable('refused');
    } catch (error) {
      assert.instance(error, UsageError, 'a usage error');
      assert.match((error as Error).message, `(from ${from})`, 'says where the name came from');
    }
  }
});

environment('the .env of the directory the file was found in fills in what is still unset', async (context) => {
  await tree(context.root, { 'app/compose.yaml': 'services: {}\n', 'app/.env': 'A=parent\nB=parent\n', 'app/sub/.env': 'A=cwd\n' });
  const target = await resolveTarget({}, { cwd: path.join(context.root, 'app/sub'), env: {} });
  assert.is(target.environment.A, 'cwd', 'the current directory\'s .env is read first');
  assert.is(target.environment.B, 'parent', 'the project directory\'s .env fills in the rest');
});

environment('--env-file (repeatable, later files winning) replaces .env; COMPOSE_ENV_FILES stands for it', async (context) => {
  await tree(context.root, { 'compose.yaml': 'services: {}\n', '.env': 'A=dotenv\nC=dotenv\n', 'one.env': 'A=one\nB=one\n', 'two.env': 'B=two\n' });
  const given = await resolveTarget({ envFile: ['one.env', 'two.env'] }, { cwd: context.root, env: {} });
  assert.equal([given.environment.A, given.environment.B, given.environment.C], ['one', 'two', undefined], 'the files given, not .env');
  const fromVariable = await resolveTarget({}, { cwd: context.root, env: { COMPOSE_ENV_FILES: 'two.env' } });
  assert.equal([fromVariable.environment.A, fromVariable.environment.B], [undefined, 'two'], 'COMPOSE_ENV_FILES');
});

environment('an --env-file that is not there is an error naming it', async (context) => {
  try {
    await resolveTarget({ envFile: ['missing.env'] }, { cwd: context.root, env: {} });
    assert.unreachable('refused');
  } catch (error) {
    assert.match(String(error), 'missing.env', 'names the file');
  }
});

environment.run();
