import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral port POD PRIVATE_PORT [--protocol tcp|udp]`: the host address a container port is published
// on, as `docker compose port SERVICE PORT` prints it (`0.0.0.0:8080`); a port published as `0`
// (any free one) shows the port chosen when the pod was attached.

interface PortOptions extends TargetOptions {
  readonly protocol?: 'tcp' | 'udp';
}

async function runPort(pod: string, privatePort: string, options: PortOptions): Promise<void> {
  const [{ openRuntime }, { readAppliedProject }, { readPodAttachment }] = await Promise.all([
    import('../runtime/context.js'), import('../project/applied-project.js'), import('../network/pod-network.js'),
  ]);
  const context = await openRuntime(await targetProjectName(options, { command: 'port', acceptTheOneRunning: true }), { readOnly: true });
  const project = await readAppliedProject(context.paths.applied);
  const applied = project?.pods.find((candidate) => candidate.name === pod);
  // A one-off pod of `corral run` is in no applied project, but attached with its -p ports.
  const attachment = await readPodAttachment(context, pod);
  if (!applied && !attachment) throw new UsageError(`no pod ${pod} in project ${context.project}`, `choose from: ${project?.pods.map((candidate) => candidate.name).join(', ') || 'none is up'}`);
  const [port, protocol] = privatePort.includes('/') ? privatePort.split('/') : [privatePort, options.protocol ?? 'tcp'];
  // The ports the attachment got (a chosen free port included), else those the file asks for.
  const ports = attachment?.ports ?? applied!.network.ports;
  const published = ports.filter((mapping) => mapping.containerPort === Number(port) && mapping.protocol === protocol);
  if (published.length === 0) throw new UsageError(`port ${port}/${protocol} of pod ${pod} is not published`, `published: ${ports.map((mapping) => `${mapping.containerPort}/${mapping.protocol}`).join(', ') || 'none'}; add it to the pod's ports`);
  process.stdout.write(published.map((mapping) => `${mapping.hostIp || '0.0.0.0'}:${mapping.hostPort}\n`).join(''));
}

export function registerPort(program: Command): void {
  withTargetOptions(program
    .command('port')
    .argument('<pod>', 'the pod (a compose service)')
    .argument('<private-port>', 'the container port, optionally with /tcp or /udp')
    .description('print the host address a container port is published on'))
    .option('--protocol <protocol>', 'tcp or udp', 'tcp')
    .action(async (pod: string, privatePort: string, options: PortOptions, command: Command) => runPort(pod, privatePort, { ...command.optsWithGlobals(), ...options }));
}
