import * as assert from 'uvu/assert';
import { loadProject } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';

// The loader with its files and environment injected: nothing touches disk.

export const FILE = '/projects/demo/corral.yaml';

/** An in-memory file system: the project file, plus any other files a test adds. */
function filesWith(yaml: string, others: Record<string, string> = {}) {
  const files: Record<string, string> = { [FILE]: yaml, ...others };
  return async (name: string) => {
    if (name in files) return files[name]!;
    throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
  };
}

export function load(yaml: string, env: Record<string, string> = {}, projectName?: string, others: Record<string, string> = {}) {
  return loadProject({ file: FILE, projectName, readFile: filesWith(yaml, others), lookupEnv: (name) => env[name] });
}

export async function loadError(yaml: string, env: Record<string, string> = {}): Promise<ProjectError> {
  try {
    await load(yaml, env);
  } catch (error) {
    assert.instance(error, ProjectError, `a ProjectError, not ${String(error)}`);
    return error as ProjectError;
  }
  throw new assert.Assertion({ message: 'the file should have been refused', generated: false, operator: 'throws', expects: 'error', actual: 'none' });
}

