import type { Command } from 'commander';
import { dirsFromEnvironment, type Dirs } from '../state/paths.js';
import { UsageError } from './errors.js';
import { formatTable } from './table.js';
import { printInspected, registerLsAndInspect } from './listing.js';
import { runningProjects, targetProjectName, type TargetOptions } from './target.js';

// `corral network ls|inspect|create|rm`. A project's own networks are recorded when a pod first
// joins one (network/project-network.ts) and go with `down`; ls and inspect show them with the pods
// attached to each. Host networks (network/host-network.ts) are made and removed here, and joined by
// the projects that declare them `external: true`; ls shows them with the pods of every project on them.

interface NetworkOptions extends TargetOptions {
  readonly format?: 'table' | 'json';
}

export interface NetworkRow {
  /** The project whose network it is; '' for a host network (`network create`), which is every project's to join. */
  readonly project: string;
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  /** Its name in CNI, iptables comments and the IPAM dir. */
  readonly cniName: string;
  /** The pods attached to it, with their address on it, sorted by pod (on a host network: `project/pod`, sorted so). */
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

/** The host networks, each with the pods of every project on it. */
async function hostNetworks(dirs: Dirs): Promise<NetworkRow[]> {
  const [{ readHostNetworks }, { hostNetworkMembers }] = await Promise.all([import('../network/host-network.js'), import('../network/names.js')]);
  const [networks, members] = await Promise.all([readHostNetworks(dirs), hostNetworkMembers(dirs)]);
  return networks.map((network) => ({
    project: '', name: network.name, bridge: network.bridge, subnet: network.subnet.cidr, gateway: network.subnet.gateway,
    internal: network.internal ?? false, cniName: network.config.name,
    pods: members.flatMap((member) => member.networks.filter((one) => one.cniName === network.config.name).map((one) => ({ pod: `${member.project}/${member.pod}`, ip: one.ip }))),
  }));
}

/**
 * A project's networks exist only while it has runtime state; host networks until `network rm`. -p
 * narrows to one project's networks and the host networks its pods are on.
 */
async function everyNetwork(options: NetworkOptions): Promise<NetworkRow[]> {
  const dirs = dirsFromEnvironment();
  const projects = options.projectName === undefined ? await runningProjects() : [await targetProjectName(options, { command: 'network' })];
  const [own, shared] = await Promise.all([Promise.all(projects.map(projectNetworks)), hostNetworks(dirs)]);
  const joined = options.projectName === undefined ? shared : shared.filter((row) => row.pods.some((one) => one.pod.startsWith(`${projects[0]}/`)));
  return [...own.flat(), ...joined];
}

const print = (line: string) => process.stdout.write(`${line}\n`);

async function runLs(options: NetworkOptions): Promise<void> {
  const rows = await everyNetwork(options);
  if (options.format === 'json') print(JSON.stringify(rows, null, 2));
  else print(formatTable(['PROJECT', 'NAME', 'BRIDGE', 'SUBNET', 'INTERNAL', 'PODS'], rows.map((row) => [row.project || '-', row.name, row.bridge, row.subnet, String(row.internal), row.pods.map((one) => one.pod).join(',') || '-'])));
}

async function runInspect(names: readonly string[], options: NetworkOptions): Promise<void> {
  printInspected(names, await everyNetwork(options), {
    what: 'network', where: options.projectName === undefined ? 'any running project' : `project ${options.projectName}`,
    hint: 'see them with: corral network ls (a network is recorded once a pod joined it)',
  });
}

/** The shape `--subnet` takes, as the project file's `subnet:`. */
const SUBNET = /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/;

async function runCreate(name: string, options: CreateOptions): Promise<void> {
  if (options.subnet !== undefined && !SUBNET.test(options.subnet)) throw new UsageError(`--subnet ${options.subnet} is not an IPv4 subnet of /16 to /28`, 'write it as 10.89.50.0/24');
  const { createHostNetwork } = await import('../network/host-network.js');
  await createHostNetwork(dirsFromEnvironment(), { name, internal: options.internal === true, ...(options.subnet !== undefined ? { subnet: options.subnet } : {}) });
  print(name);
}

/** What `network rm` does with each name: pure, so that nothing is removed when anything is refused. */
export function planNetworkRemoval(names: readonly string[], existing: readonly NetworkRow[], busyBridges: ReadonlySet<string>) {
  const byName = new Map(existing.map((row) => [row.name, row]));
  const unique = [...new Set(names)];
  const usersOf = (row: NetworkRow) => (row.pods.length > 0 ? row.pods.map((one) => one.pod) : busyBridges.has(row.bridge) ? ['a pod being attached now'] : []);
  return {
    remove: unique.filter((name) => byName.has(name) && usersOf(byName.get(name)!).length === 0),
    missing: unique.filter((name) => !byName.has(name)),
    refused: unique.flatMap((name) => { const row = byName.get(name); const usedBy = row ? usersOf(row) : []; return usedBy.length > 0 ? [{ name, usedBy }] : []; }),
  };
}

async function runRm(names: readonly string[]): Promise<void> {
  const { withHostNetworks, readHostNetwork, removeHostNetwork, bridgePorts } = await import('../network/host-network.js');
  const dirs = dirsFromEnvironment();
  await withHostNetworks(dirs, 'remove host networks', async () => {
    const rows = await hostNetworks(dirs);
    const busy = new Set((await Promise.all(rows.map(async (row) => ((await bridgePorts(row.bridge)).length > 0 ? [row.bridge] : [])))).flat());
    const plan = planNetworkRemoval(names, rows, busy);
    if (plan.missing.length > 0) throw new UsageError(`no host network ${plan.missing.join(', ')}`, 'see them with: corral network ls (a project\'s own networks go with its `down`)');
    if (plan.refused.length > 0) {
      const uses = plan.refused.map((one) => `${one.name} is used by ${one.usedBy.join(', ')}`).join('; ');
      throw new UsageError(`network rm: nothing removed: ${uses}`, 'take those pods off it first (corral down, or remove the network from their project file and corral up)');
    }
    for (const name of plan.remove) {
      await removeHostNetwork(dirs, (await readHostNetwork(dirs, name))!);
      print(name);
    }
  });
}

interface CreateOptions {
  readonly subnet?: string;
  readonly internal?: boolean;
}

export function registerNetwork(program: Command): void {
  const network = program.command('network').description('list the networks of the projects on this host; make and remove host networks');
  registerLsAndInspect<NetworkOptions>(network, {
    lsDescription: 'list every project\'s networks and the host networks: bridge, subnet, pods attached (-p: one project\'s)',
    inspectDescription: 'show networks as JSON: bridge, subnet, gateway, pods with their addresses',
    ls: runLs,
    inspect: runInspect,
  });
  network.command('create').argument('<name>', 'network name').description('make a host network, which projects join with external: true')
    .option('--subnet <cidr>', 'its IPv4 subnet (default: a free /24 of 10.89.0.0/16)')
    .option('--internal', 'no route out: its pods reach only the pods of their networks')
    .action(async (name: string, options: CreateOptions) => runCreate(name, options));
  network.command('rm').alias('remove').argument('<names...>', 'host network names').description('remove host networks that no pod is on')
    .action(async (names: string[]) => runRm(names));
}
