import path from 'node:path';
import { loadProject } from '../../src/load/load.js';
import type { Container, Project } from '../../src/project/model.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from './sandbox.js';

// The compose fixtures of test/fixtures/compose/: each loaded to the model Corral would run, with the
// warnings it printed, or refused at its line.

export const composeFixture = (name: string) => path.join(repositoryRoot, 'test/fixtures/compose', name);

/** The fixture's model and its warnings, each as `LINE:COL: ...` (the file's name left out). */
export async function loadComposeFixture(name: string) {
  const warnings: string[] = [];
  const project = await loadProject({ file: composeFixture(name), onWarning: (warning) => warnings.push(warning), lookupEnv: () => undefined });
  return { project, warnings: warnings.map((warning) => warning.replace(`${composeFixture(name)}:`, '')) };
}

/** The error loading the fixture throws, as `LINE:COL: what (how to fix)`. */
export async function composeRefusal(name: string): Promise<string> {
  try {
    await loadComposeFixture(name);
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    return `${error.where.line}:${error.where.col}: ${error.message} (${error.hint})`;
  }
  throw new Error(`${name} loaded, but should have been refused`);
}

/** Every container of the project by `pod/container`. */
export const containersOf = (project: Project) => project.pods.flatMap((pod) => pod.containers.map((container) => [`${pod.name}/${container.name}`, container] as [string, Container]));
