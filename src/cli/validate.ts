import type { Command } from 'commander';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral validate`: check the project file and say what it describes, without touching the host.

async function runValidate(options: TargetOptions): Promise<void> {
  const project = await loadTargetProject(options);
  const containers = project.pods.reduce((sum, pod) => sum + pod.containers.length, 0);
  process.stdout.write(`${project.file}: valid: project ${project.name}, ${project.pods.length} pod(s), ${containers} container(s), ${project.volumes.length} volume(s)\n`);
}

export function registerValidate(program: Command): void {
  withTargetOptions(program
    .command('validate')
    .description('check the project file and report its problems, each with file:line:col'))
    .action(async (_options: unknown, command: Command) => runValidate(command.optsWithGlobals()));
}
