import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadComposeDocument, loadProjectAndSource } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';
import { readWithinLimit } from '../../src/project/limits.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// The loader over several files on disk: compose-go's own test data for `extends` (copied under
// test/fixtures/import/compose-go/), each case with what compose-go's loader/extends_test.go and
// include_test.go expect of it; then the relative-path rule of several files.

const LOADER = path.join(repositoryRoot, 'test/fixtures/import/compose-go/loader');
const TESTDATA = path.join(LOADER, 'testdata');

type Raw = Record<string, any>;

/**
 * Loads `files` (the first may be given as text, as compose-go's tests give theirs inline, placed
 * in compose-go's loader/ directory so that its relative paths reach testdata/).
 */
async function loadCompose(files: (string | { inline: string })[], env: Record<string, string> = {}, projectDirectory?: string) {
  const inline = new Map<string, string>();
  const paths = files.map((file, index) => {
    if (typeof file === 'string') return file;
    const name = path.join(LOADER, `inline-${index}.yaml`);
    inline.set(name, file.inline);
    return name;
  });
  const warnings: string[] = [];
  const { project, source } = await loadProjectAndSource({
    file: paths[0]!, overrides: paths.slice(1), projectName: 'test', ...(projectDirectory ? { projectDirectory } : {}), lookupEnv: (name) => env[name], dotenvFiles: [],
    readFile: async (file) => inline.get(file) ?? readWithinLimit(file), onWarning: (warning) => warnings.push(warning),
  });
  return { project, services: (source.data as Raw).services as Raw, warnings };
}

/**
 * compose's model of `files` (merged, extended, included), before Corral translates it: for cases whose
 * services use keys Corral refuses (build.target, dockerfile_inline) to check compose's merge alone.
 */
async function composeServices(files: string[], env: Record<string, string> = {}): Promise<Raw> {
  const data = await loadComposeDocument({ file: files[0]!, overrides: files.slice(1), projectName: 'test', lookupEnv: (name) => env[name], dotenvFiles: [] }) as Raw;
  return data.services as Raw;
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTemporaryDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'corral-load-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const extendsCases = suite('extends, on compose-go\'s test data (loader/extends_test.go)');

extendsCases('TestExtends: two services extend one of another file; a third extends one that extends', async () => {
  const { services } = await loadCompose([{ inline: `name: test-extends
services:
  test1:
    extends: { file: testdata/extends/base.yaml, service: base }
    hostname: test1
  test2:
    extends: { file: testdata/extends/base.yaml, service: base }
    hostname: test2
  test3:
    extends: { file: testdata/extends/base.yaml, service: another }
    hostname: test3
` }]);
  assert.equal(services, { test1: { image: 'base', hostname: 'test1' }, test2: { image: 'base', hostname: 'test2' }, test3: { image: 'base', hostname: 'test3' } });
});

extendsCases('TestExtendsPort and TestExtendsUlimits: ports and ulimits of the extended service', async () => {
  const { services } = await loadCompose([{ inline: `services:
  test:
    image: test
    extends: { file: testdata/extends/base.yaml, service: with-port }
  limited:
    extends: { file: testdata/extends/base.yaml, service: withUlimits }
` }]);
  assert.equal(services.test.ports, ['8000:8000']);
  assert.is(services.limited.ulimits.nproc, 65535);
});

extendsCases('TestExtendsRelativePath: a relative build context is the extended file\'s directory\'s', async () => {
  const { services } = await loadCompose([{ inline: 'services:\n  test:\n    extends: { file: testdata/extends/base.yaml, service: with-build }\n' }]);
  assert.is(services.test.build, path.join(TESTDATA, 'extends'));
});

extendsCases('TestExtendsPortOverride: a file extending a service of the file before it keeps one port, not two', async () => {
  // compose-go's test names its working directory: the project directory, where extends.file is relative to.
  const { services } = await loadCompose([path.join(TESTDATA, 'extends/ports.yaml'), { inline: 'services:\n  test:\n    extends: { file: testdata/extends/ports.yaml, service: test }\n' }], {}, LOADER);
  assert.equal(services.test.ports, ['8080:8080']);
});

extendsCases('TestExtendsReset: !reset in the extending service of the extended file removes the command', async () => {
  const { services } = await loadCompose([{ inline: 'services:\n  test:\n    extends: { file: testdata/extends/reset.yaml, service: base }\n' }]);
  assert.equal(services.test, { image: 'alpine:latest' });
});

extendsCases('TestExtendsWithInterpolation: the extended file is interpolated', async () => {
  const { services } = await loadCompose([{ inline: 'services:\n  test:\n    extends: { file: testdata/extends/interpolated.yaml, service: foo }\n' }]);
  assert.equal(services.test.volumes, ['/dev/null:/tmp/foo:ro']);
});

extendsCases('withdir: extends across directories, each file relative to its own', async () => {
  const { services } = await loadCompose([path.join(TESTDATA, 'extends/withdir/compose.yaml')]);
  assert.equal(services.test, { image: 'hello-world' });
});

extendsCases('compose-test-extends.yaml: env_file relative to the extended file, not the extending one', async () => {
  const { services, project } = await loadCompose([path.join(TESTDATA, 'compose-test-extends.yaml')], { SOURCE: 'fromenv' });
  assert.equal(services.importer.env_file, [path.join(TESTDATA, 'subdir/extra.env')]);
  assert.is(services.importer.container_name, 'fromenv', 'interpolated with the project\'s environment');
  assert.is(project.pods[0]!.containers[0]!.env.SOURCE, 'extends', 'the env file read from the extended file\'s directory');
});

extendsCases('TestLoadExtendsSameFile: a service of another file that extends one of its own file', async () => {
  await inTemporaryDir(async (dir) => {
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub/compose.yaml'), 'services:\n  base:\n    build:\n      context: ..\n  service:\n    extends: base\n    build:\n      target: target\n');
    await writeFile(path.join(dir, 'compose.yaml'), 'services:\n  out-base:\n    extends: { file: sub/compose.yaml, service: base }\n  out-service:\n    extends: { file: sub/compose.yaml, service: service }\n');
    const services = await composeServices([path.join(dir, 'compose.yaml')]);
    assert.equal(services['out-base'].build, { context: dir });
    assert.equal(services['out-service'].build, { context: dir, target: 'target' });
  });
});

const refusals = suite('extends and include refused at their line');

async function refusal(files: (string | { inline: string })[]): Promise<ProjectError> {
  try {
    await loadCompose(files);
  } catch (error) {
    if (error instanceof ProjectError) return error;
    throw error;
  }
  throw new Error('the project should have been refused');
}

refusals('a service that extends one that is not there', async () => {
  const error = await refusal([{ inline: 'services:\n  web:\n    image: x\n  app:\n    extends: webb\n' }]);
  assert.equal([path.basename(error.where.file), error.where.line, error.where.col], ['inline-0.yaml', 5, 14]);
  assert.match(error.message, /cannot extend service app: there is no service webb/);
});

refusals('a cycle of extends', async () => {
  const error = await refusal([{ inline: 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n' }]);
  assert.match(error.message, /leads back to it/);
});

refusals('an extends.file that is not there, at its line', async () => {
  const error = await refusal([{ inline: 'services:\n  a:\n    extends: { file: missing.yaml, service: x }\n' }]);
  assert.equal([path.basename(error.where.file), error.where.line], ['inline-0.yaml', 3]);
  assert.match(error.message, /cannot read .*missing\.yaml: ENOENT/);
});

refusals('an error in a key taken from the extended file is reported in that file', async () => {
  await inTemporaryDir(async (dir) => {
    await writeFile(path.join(dir, 'base.yaml'), 'services:\n  base:\n    image: x\n    privileged: maybe\n');
    await writeFile(path.join(dir, 'compose.yaml'), 'services:\n  web:\n    extends: { file: base.yaml, service: base }\n');
    const error = await refusal([path.join(dir, 'compose.yaml')]);
    assert.equal([error.where.file, error.where.line, error.where.col], [path.join(dir, 'base.yaml'), 4, 17]);
  });
});

refusals('an include that includes itself', async () => {
  const error = await refusal([path.join(TESTDATA, 'compose-include-cycle.yaml')]);
  assert.match(error.message, /include cycle/);
  assert.equal([error.where.line, error.where.col], [2, 5]);
});

refusals('an include of a file that is not there, at its path', async () => {
  const error = await refusal([{ inline: 'include:\n  - path: missing.yaml\nservices:\n  web:\n    image: x\n' }]);
  assert.equal([error.where.line, error.where.col], [2, 11]);
  assert.match(error.message, /cannot read .*missing\.yaml: ENOENT/);
});

const includeCases = suite('include, on compose-go\'s test data (loader/include_test.go)');

includeCases('TestIncludeRelative: the included file\'s relative paths are its directory\'s', async () => {
  const { services } = await loadCompose([path.join(TESTDATA, 'include/compose.yaml')]);
  assert.equal(services.included, { build: path.join(TESTDATA, 'include'), volumes: [`${path.join(TESTDATA, 'include')}:/mnt`] });
});

includeCases('TestIncludeWithProjectDirectory: project_directory is where the included file\'s paths lead', async () => {
  const services = await composeServices([path.join(TESTDATA, 'include/project-directory.yaml')]);
  const subdir = path.join(TESTDATA, 'subdir');
  assert.is(services.service.build.context, subdir);
  assert.is(services.service.volumes[0].source, path.join(subdir, 'compose-test-extends-imported.yaml'));
  assert.equal(services.service.env_file, [path.join(subdir, 'extra.env')]);
});

includeCases('TestLoadWithMultipleInclude: one file included twice is no conflict; the env_file of an include, under the environment', async () => {
  const { services } = await loadCompose([{ inline: `name: 'test-multi-include'
include:
  - path: ./testdata/subdir/compose-test-extends-imported.yaml
    env_file: ./testdata/subdir/extra.env
  - path: ./testdata/compose-include.yaml
services:
  foo:
    image: busybox
    depends_on:
      - imported
` }], { SOURCE: 'override' });
  assert.is(services.imported.container_name, 'override');
  assert.equal(services.bar, { image: 'bar', environment: ['FOO=BAR'] });
});

includeCases('TestLoadWithMultipleIncludeConflict: the including file\'s service is merged over the included one, !override honoured', async () => {
  const { services } = await loadCompose([{ inline: `name: 'test-multi-include'
include:
  - path: ./testdata/subdir/compose-test-extends-imported.yaml
    env_file: ./testdata/subdir/extra.env
  - path: ./testdata/compose-include.yaml
    env_file: ./testdata/subdir/extra.env
services:
  bar:
    image: busybox
    environment: !override
      - ZOT=QIX
` }], { SOURCE: 'override' });
  assert.equal(services.bar, { image: 'busybox', environment: ['ZOT=QIX'] });
});

includeCases('TestLoadIncludeExtendsCombined: an included file extends a file beside it', async () => {
  const { services } = await loadCompose([path.join(TESTDATA, 'combined/compose.yaml')]);
  assert.equal(services.service, { build: path.join(TESTDATA, 'combined/dir') });
});

includeCases('TestLoadWithIncludeEnv: the include\'s env_file is the included project\'s alone', async () => {
  await inTemporaryDir(async (dir) => {
    await mkdir(path.join(dir, 'module'));
    await writeFile(path.join(dir, 'custom.env'), 'VAR_NAME=value');
    await writeFile(path.join(dir, 'compose.yml'), 'include:\n  - path:\n    - ./module/compose.yml\n    env_file:\n      - ./custom.env\nservices:\n  a:\n    image: alpine\n    environment:\n      - VAR_NAME=${VAR_NAME:-unset}\n');
    await writeFile(path.join(dir, 'module/compose.yml'), 'services:\n  b:\n    image: alpine\n    environment:\n      - VAR_NAME=${VAR_NAME:-unset}\n');
    const { services } = await loadCompose([path.join(dir, 'compose.yml')]);
    assert.equal(services.a.environment, ['VAR_NAME=unset'], 'not in the including project');
    assert.equal(services.b.environment, ['VAR_NAME=value'], 'in the included one');
  });
});

includeCases('an error in an included file is reported in that file', async () => {
  await inTemporaryDir(async (dir) => {
    await writeFile(path.join(dir, 'other.yaml'), 'services:\n  db:\n    image: x\n    privileged: maybe\n');
    await writeFile(path.join(dir, 'compose.yaml'), 'include: [other.yaml]\nservices:\n  web:\n    image: x\n');
    const error = await refusal([path.join(dir, 'compose.yaml')]);
    assert.equal([error.where.file, error.where.line, error.where.col], [path.join(dir, 'other.yaml'), 4, 17]);
  });
});

const relative = suite('several files: relative paths are the project directory\'s');

relative('a bind of the second file, in another directory, is relative to the first file\'s directory', async () => {
  await inTemporaryDir(async (dir) => {
    await mkdir(path.join(dir, 'app'));
    await mkdir(path.join(dir, 'overrides'));
    await writeFile(path.join(dir, 'app/compose.yaml'), 'services:\n  web:\n    image: busybox\n');
    await writeFile(path.join(dir, 'overrides/dev.yaml'), 'services:\n  web:\n    volumes: ["./src:/src"]\n');
    const { project } = await loadCompose([path.join(dir, 'app/compose.yaml'), path.join(dir, 'overrides/dev.yaml')]);
    const mount = project.pods[0]!.containers[0]!.mounts.find((one) => one.target === '/src');
    assert.is(mount?.source, path.join(dir, 'app/src'));
    assert.ok(project.sources.includes(path.join(dir, 'overrides/dev.yaml')), 'the second file is a source of the project (watch reloads on it)');
  });
});

extendsCases.run();
includeCases.run();
refusals.run();
relative.run();
