import type { Command } from 'commander';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral generate kube`: the project file as Kubernetes manifests on stdout, for a cluster;
// what a cluster has no field for is named on stderr.

async function runGenerateKube(options: TargetOptions): Promise<void> {
  const project = await loadTargetProject(options);
  const { generateKubeManifests, manifestsAsYaml } = await import('../import/kube-export.js');
  process.stdout.write(manifestsAsYaml(generateKubeManifests(project, (warning) => process.stderr.write(`corral: warning: ${warning}\n`))));
}

export function registerGenerate(program: Command): void {
  const generate = program.command('generate').description('write the project in another format');
  withTargetOptions(generate
    .command('kube')
    .description('Kubernetes manifests: Pods or Deployments, Services for published ports, PersistentVolumeClaims for named volumes'))
    .action(async (_options: unknown, command: Command) => runGenerateKube(command.optsWithGlobals()));
}
