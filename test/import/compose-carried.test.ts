import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { loadProject } from '../../src/load/load.js';
import type { Container, Project } from '../../src/project/model.js';
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

/** The message of the error loading the fixture throws (its file name left out). */
async function refusal(name: string): Promise<string> {
  try {
    await loadFixture(name);
  } catch (error) {
    return (error as Error).message.replace(`${fixture(name)}:`, '');
  }
  throw new Error(`${name} loaded, but should have been refused`);
}

const containers = (project: Project) => project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container] as [string, Container]));

carried('init: true is catatonit as PID 1; false or unset is the command itself', async () => {
  const { project, warnings } = await loadFixture('init.compose.yml');
  assert.equal(Object.fromEntries(containers(project).map(([name, container]) => [name, container.initProcess ?? false])), { 'plain/plain': false, 'reaped/reaped': true, 'unset/unset': false }, 'initProcess only where init: true');
  assert.equal(warnings, [], 'init is carried, not warned about');
});

carried.run();
