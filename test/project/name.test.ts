import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadProject } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';
import { isValidProjectName, normaliseProjectName } from '../../src/project/name.js';

// Project names as compose makes them: the directory's name and the file's name: normalised
// (compose-go's NormalizeProjectName), a name the user gives taken as it is or refused.

const names = suite('project names, normalised as compose does');

const normalised: [string, string][] = [
  ['tmp.AbC', 'tmpabc'],
  ['My Project!', 'myproject'],
  ['UNNORMALIZED PATH', 'unnormalizedpath'],
  ['-_leading-separators', 'leading-separators'],
  ['kept_inner-separators_', 'kept_inner-separators_'],
  ['.hidden', 'hidden'],
  ['ünïcode-app', 'ncode-app'],
  ['...', ''],
];

for (const [text, name] of normalised) {
  names(`"${text}" becomes "${name}"`, () => {
    assert.is(normaliseProjectName(text), name, 'normalised');
  });
}

names('a given name is valid only as it is: lower case, [a-z0-9_-], starting with a letter or digit, at most 63', () => {
  for (const good of ['web', 'a', '0day', 'my_app-2', 'x'.repeat(63)]) assert.ok(isValidProjectName(good), `${good} is valid`);
  for (const bad of ['', 'Web', '.', '..', 'a/b', '../x', '-web', '_web', 'my app', 'x'.repeat(64)]) assert.not.ok(isValidProjectName(bad), `${bad} is refused`);
});

const COMPOSE = 'services:\n  web:\n    image: busybox\n';

async function loadAt(file: string, text: string, options: { projectName?: string; projectDirectory?: string; env?: Record<string, string> } = {}) {
  const files: Record<string, string> = { [file]: text };
  return loadProject({
    file,
    readFile: async (name) => {
      if (name in files) return files[name]!;
      throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
    },
    lookupEnv: (name) => options.env?.[name],
    onWarning: () => {},
    ...(options.projectName === undefined ? {} : { projectName: options.projectName }),
    ...(options.projectDirectory === undefined ? {} : { projectDirectory: options.projectDirectory }),
  });
}

names('the project directory gives the name, normalised: a project in tmp.AbC is tmpabc', async () => {
  assert.is((await loadAt('/work/tmp.AbC/compose.yaml', COMPOSE)).name, 'tmpabc', 'from the directory');
  assert.is((await loadAt('/work/tmp.AbC/corral.yaml', 'pods:\n  web:\n    containers:\n      app:\n        rootfs: /x\n        command: ["true"]\n')).name, 'tmpabc', 'for corral.yaml too');
});

names('--project-directory names the project and is where relative paths start', async () => {
  const project = await loadAt('/work/files/compose.yaml', 'services:\n  web:\n    image: busybox\n    volumes: ["./data:/data"]\n', { projectDirectory: '/srv/Shop.Front' });
  assert.is(project.name, 'shopfront', 'named after the project directory');
  const mount = project.pods[0]!.containers[0]!.mounts.find((one) => one.target === '/data');
  assert.is((mount as { source?: string } | undefined)?.source, '/srv/Shop.Front/data', 'a relative bind is relative to the project directory');
});

names('a compose file\'s name: is normalised as compose does; the name given wins over it', async () => {
  assert.is((await loadAt('/work/x/compose.yaml', `name: "My Shop"\n${COMPOSE}`)).name, 'myshop', 'name: normalised');
  assert.is((await loadAt('/work/x/compose.yaml', `name: "My Shop"\n${COMPOSE}`, { projectName: 'given' })).name, 'given', 'the given name wins');
});

names('a given name that is not valid as it is, is refused (compose does not normalise it)', async () => {
  try {
    await loadAt('/work/x/compose.yaml', COMPOSE, { projectName: 'MyApp' });
    assert.unreachable('MyApp is refused');
  } catch (error) {
    assert.instance(error, ProjectError, 'a ProjectError');
    assert.match((error as ProjectError).message, 'invalid project name "MyApp"', 'names it');
  }
});

names('a directory whose name normalises to nothing gives no name: the error says how to name the project', async () => {
  try {
    await loadAt('/work/.../compose.yaml', COMPOSE);
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, ProjectError, 'a ProjectError');
    assert.match((error as ProjectError).hint, /name: in the file or pass -p NAME/, 'says how');
  }
});

names('COMPOSE_PROFILES activates profiles when --profile and CORRAL_PROFILES are not given', async () => {
  const text = 'services:\n  web:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug]\n';
  assert.equal((await loadAt('/work/x/compose.yaml', text)).pods.map((pod) => pod.name), ['web'], 'inactive by default');
  assert.equal((await loadAt('/work/x/compose.yaml', text, { env: { COMPOSE_PROFILES: 'debug' } })).pods.map((pod) => pod.name).sort(), ['debug', 'web'], 'COMPOSE_PROFILES');
  assert.equal((await loadAt('/work/x/compose.yaml', text, { env: { COMPOSE_PROFILES: 'debug', CORRAL_PROFILES: 'other' } })).pods.map((pod) => pod.name), ['web'], 'CORRAL_PROFILES first');
});

names.run();
