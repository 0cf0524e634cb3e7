import type { Command } from 'commander';
import { formatTable } from './table.js';
import { printInspected, registerLsAndInspect } from './listing.js';
import { runningProjects, targetProjectName, type TargetOptions } from './target.js';

// `corral network ls|inspect`: every project's networks as Corral recorded them when a pod first
// joined (network/project-network.ts), and the pods attached to each. Read only: networks come and go
// with their project's pods; creating and removing them stays with `up` and `down`.

interface NetworkOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
}

export interface NetworkRow {
  readonly project: string;
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  /** Its name in CNI, iptables comments and the IPAM dir. */
  readonly cniName: string;
  /** The pods attached to it, with their address on it, sorted by pod. */
  readonly pods: readonly { readonly pod: string; readonly ip: string }[];
}

/** The networks of one project, with the pods attached to each. */
async function projectNetworks(project: string): Promise<NetworkRow[]> {
  const [{ openRuntime }, { readRecordedNetworks }, { readPodAttachment }, { namesInDir }] = await Promise.all([
    import('../runtime/context.js'), import('../network/project-network.js'), import('../network/pod-network.js'), import('../state/read.js'),
  ]);
  const context = await openRuntime(project, { readOnly: true });
  const [networks, pods] = await Promise.all([readRecordedNetworks(context), namesInDir(context.paths.podsRun)]);
  const attachments = await Promise.all(pods.sort().map(async (pod) => ({ pod, attachment: await readPodAttachment(context, pod) })));
  return networks.map((network) => ({
    project, name: network.name, bridge: network.bridge, subnet: network.subnet.cidr, gateway: network.subnet.gateway,
    internal: network.internal ?? false, cniName: network.config.name,
    pods: attachments.flatMap(({ pod, attachment }) => attachment?.networks.filter((one) => one.network === network.name).map((one) => ({ pod, ip: one.ip })) ?? []),
  }));
}

/** Networks exist only while their project has runtime state; -p narrows to one project. */
async function everyNetwork(options: NetworkOptions): Promise<NetworkRow[]> {
  const projects = options.projectName === undefined ? await runningProjects() : [await targetProjectName(options, { command: 'network' })];
  return (await Promise.all(projects.map(projectNetworks))).flat();
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function runLs(options: NetworkOptions): Promise<void> {
  const rows = await everyNetwork(options);
  if (options.format === 'json') print(JSON.stringify(rows, null, 2));
  else print(formatTable(['PROJECT', 'NAME', 'BRIDGE', 'SUBNET', 'INTERNAL', 'PODS'], rows.map((row) => [row.project, row.name, row.bridge, row.subnet, String(row.internal), row.pods.map((one) => one.pod).join(',') || '-'])));
}

async function runInspect(names: readonly string[], options: NetworkOptions): Promise<void> {
  printInspected(names, await everyNetwork(options), {
    what: 'network', where: options.projectName === undefined ? 'any running project' : `project ${options.projectName}`,
    hint: 'see them with: corral network ls (a network is recorded once a pod joined it)',
  });
}

export function registerNetwork(program: Command): void {
  registerLsAndInspect<NetworkOptions>(program.command('network').description('list the networks of the projects on this host'), {
    lsDescription: 'list every project\'s networks: bridge, subnet, pods attached (-p: one project\'s)',
    inspectDescription: 'show networks as JSON: bridge, subnet, gateway, pods with their addresses',
    ls: runLs,
    inspect: runInspect,
  });
}
