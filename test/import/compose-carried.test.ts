import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { loadProject } from '../../src/load/load.js';
import type { Container, Project } from '../../src/project/model.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// Compose keys carried over (not warned about): each fixture of test/fixtures/compose/ loaded to the
// model Corral would run, or refused at its line.

const carried = suite('compose keys carried over');
const fixture = (name: string) => path.join(repositoryRoot, 'test/fixtures/compose', name);

async function loadFixture(name: string) {
  const warnings: string[] = [];
  const project = await loadProject({ file: fixture(name), onWarning: (warning) => warnings.push(warning), lookupEnv: () => undefined });
  return { project, warnings: warnings.map((warning) => warning.replace(`${fixture(name)}:`, '')) };
}

/** The error loading the fixture throws, as `LINE:COL: what`. */
async function refusal(name: string): Promise<string> {
  try {
    await loadFixture(name);
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    return `${error.where.line}:${error.where.col}: ${error.message}`;
  }
  throw new Error(`${name} loaded, but should have been refused`);
}

const containers = (project: Project) => project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container] as [string, Container]));

carried('init: true is catatonit as PID 1; false or unset is the command itself', async () => {
  const { project, warnings } = await loadFixture('init.compose.yml');
  assert.equal(Object.fromEntries(containers(project).map(([name, container]) => [name, container.initProcess ?? false])), { 'plain/plain': false, 'reaped/reaped': true, 'unset/unset': false }, 'initProcess only where init: true');
  assert.equal(warnings, [], 'init is carried, not warned about');
});

carried('deploy.replicas and scale: a pod per replica, depends_on on each, scale: 0 runs none', async () => {
  const { project, warnings } = await loadFixture('replicas.compose.yml');
  assert.equal(project.pods.map((pod) => pod.name), ['client', 'lister', 'single', 'web-1', 'web-2', 'web-3', 'worker-1', 'worker-2'], 'NAME-1..NAME-N, the plain name for one replica, none for scale: 0');
  const dependencies = Object.fromEntries(containers(project).map(([name, container]) => [name, container.lifecycle.dependsOn.map((dependency) => dependency.resource)]));
  assert.equal(dependencies['client/client'], ['web-1/web', 'web-2/web', 'web-3/web'], 'a dependency on a replicated service waits for every replica');
  assert.equal(dependencies['lister/lister'], ['worker-1/worker', 'worker-2/worker'], 'the list form too');
  assert.equal(project.volumes.map((volume) => volume.name), ['web-1-cache', 'web-2-cache', 'web-3-cache'], 'each replica has its anonymous volume of its own');
  assert.equal(warnings, ['19:7: services.client.depends_on.off: service off has scale 0: nothing runs to wait for, ignored'], 'a dependency on nothing running is named');
});

carried('replicas refused at their line: two counts that disagree, no count, a replicated service\'s network shared', async () => {
  assert.match(await refusal('replicas-disagree.compose.yml'), /^6:17: deploy\.replicas: 3 and scale: 2 disagree/, 'two counts');
  assert.match(await refusal('replicas-not-a-count.compose.yml'), /^4:12: scale: -1 is not a number of replicas from 0 to 1000/, 'a negative count');
  assert.match(await refusal('replicas-shared-network.compose.yml'), /^7:19: network_mode: service:web names a service of 2 replicas/, 'no one pod to share');
});

carried.run();
