import { writeFile } from 'node:fs/promises';
import { tearDownProject } from '../../src/converge/teardown.js';
import { loadProject } from '../../src/load/load.js';
import type { Project } from '../../src/project/model.js';
import { openRuntime, type RuntimeContext } from '../../src/runtime/context.js';
import { withProjectLock } from '../../src/state/lock.js';
import { createProjectSandbox, downAndAssertNothingLeaks, type ProjectSandbox } from './sandbox.js';

// For suites that drive Corral's layers in-process (no CLI, no supervisor): a sandbox with the
// project file written, loaded, and a runtime context on the sandbox's dirs; and its teardown.

export interface RuntimeSandbox extends ProjectSandbox {
  readonly runtime: RuntimeContext;
  readonly desired: Project;
}

/** `projectFile` gets the busybox rootfs path and returns the project file's text. */
export async function createRuntimeSandbox(label: string, projectFile: (rootfs: string) => string): Promise<RuntimeSandbox> {
  const sandbox = await createProjectSandbox(label);
  await writeFile(sandbox.file, projectFile(sandbox.rootfs));
  const desired = await loadProject({ file: sandbox.file, projectName: sandbox.project });
  const runtime = await openRuntime(sandbox.project, { dirs: { run: sandbox.sandbox.run, state: sandbox.sandbox.state } });
  return { ...sandbox, runtime, desired };
}

/** Takes the project down as `down` does, then checks nothing of it is left. */
export async function tearDownRuntimeSandbox(context: RuntimeSandbox): Promise<void> {
  await withProjectLock(context.runtime.paths.lock, () => tearDownProject(context.runtime));
  await downAndAssertNothingLeaks(context.sandbox, context.project);
}
