import { readFile, rm, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolverPaths, type Dirs } from '../state/paths.js';
import { namesInDir, whenMissing } from '../state/read.js';
import { writeFileAtomic } from '../state/atomic.js';
import { crashPoint } from '../crash-point.js';
import { log } from '../log.js';
import { runDirAttachments } from './pod-network.js';
import { withHostNetworks } from './host-network.js';
import { placeResolver } from '../runtime/monitors.js';
import { processRuns } from '../runtime/proc-stat.js';
import { confirmResolverAnswers } from './resolver-check.js';
import type { NetworkConfigList } from './cni.js';

// Names by DNS: aardvark-dns (podman's resolver, Debian's `aardvark-dns`) answers on the gateway of
// every bridge, port 53, with the addresses of the pods on that bridge's network, all of them for a
// name that several pods carry (the replicas of a service). It reads one file per network from its
// config dir (first line: the gateway; then `id ipv4 ipv6 name,name,...` per pod), looks a query up
// by the asking pod's address (so a pod sees only the names of its own networks) and forwards what it
// does not know to the host's resolvers. It is a daemon of its own, like conmon: it forks, writes its
// pid beside the files and rereads them on SIGHUP. One runs per run dir while any pod is on a bridge.
//
// What it serves is derived, never kept: every project's attachment records in the run dir say which
// pod is where. `syncResolver` observes the files and the process, plans the steps to make them
// match the records (written files, removed files, start, reload or stop) and executes them; a crash
// between steps leaves files the next sync rewrites. A reload or start is confirmed by asking it, from
// the host, for a name only the new file carries (resolver-check.ts): each file lists the network's
// gateway as a requester, under a name made of a hash of the file's pods.
//
// Internal networks: aardvark-dns 1.4 forwards every unknown name of every pod (since 1.11 it does not
// for a pod on internal networks alone, which netavark marks by a `%int` suffix of the file's name; 1.4
// reads that as a plain name). What 1.4 has is a per-pod upstream (a fifth column) which replaces the
// others: a pod on internal networks alone gets the broadcast address there, to which aardvark-dns
// cannot send (connect and sendto fail with EACCES without SO_BROADCAST), so no query leaves through it.

/** aardvark-dns as Debian installs it (podman's helper dir); CORRAL_AARDVARK_DNS names another. */
export const AARDVARK_DNS = process.env.CORRAL_AARDVARK_DNS || '/usr/lib/podman/aardvark-dns';

/**
 * Where it sends the names it does not know: CORRAL_DNS_UPSTREAM (servers, comma-separated; the
 * tests name loopback, so that no query leaves the host), else the host's resolv.conf, which
 * aardvark-dns reads itself.
 */
const upstreamServers = () => process.env.CORRAL_DNS_UPSTREAM?.split(',').filter(Boolean) ?? [];

/** The upstream of a pod on internal networks alone: an address no unprivileged socket can send to (see above). */
export const NO_UPSTREAM = '255.255.255.255';
/**
 * The container id under which a file lists the network's gateway (the host asking, to confirm a
 * reload): one per network, as aardvark-dns joins the networks of entries that share an id.
 */
const checkId = (network: ResolverNetwork) => `corral.resolver-check.${network.cniName}`;

/** The port pods ask on (resolv.conf has no port). */
const DNS_PORT = 53;
/** The pid file aardvark-dns writes into its config dir (it skips it when reading). */
export const PID_FILE = 'aardvark.pid';
/** How long a fresh aardvark-dns may take to install its SIGHUP handler (a SIGHUP before would kill it). */
const READY_TIMEOUT_MS = 5_000;
/** How long a stopped aardvark-dns may take to exit. */
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 10;

/** A pod on a network, as its attachment record says. */
export interface ResolverEntry {
  readonly project: string;
  readonly pod: string;
  readonly ip: string;
  readonly names: readonly string[];
  /** On internal networks alone: no name it asks for is forwarded. */
  readonly internalOnly?: boolean;
}

/** One network as aardvark-dns serves it. */
export interface ResolverNetwork {
  /** The CNI network name, which names its file. */
  readonly cniName: string;
  readonly gateway: string;
  readonly entries: readonly ResolverEntry[];
}

/** What is there: the config files by name (with their text) and the running process, if any. */
export interface ObservedResolver {
  readonly files: ReadonlyMap<string, string>;
  readonly pid?: number;
}

export type ResolverStep =
  | { readonly kind: 'write'; readonly file: string; readonly text: string }
  | { readonly kind: 'remove'; readonly file: string }
  | { readonly kind: 'start' }
  | { readonly kind: 'reload'; readonly pid: number }
  | { readonly kind: 'stop'; readonly pid: number }
  | { readonly kind: 'confirm'; readonly network: string; readonly gateway: string; readonly name: string };

/** A pod's names on a network: `pod`, `pod.project` and its aliases there, lower case as DNS compares them. */
export function resolverNames(project: string, pod: string, aliases: readonly string[]): string[] {
  return [...new Set([pod, `${pod}.${project}`, ...aliases].map((name) => name.toLowerCase()))];
}

/** The pods' lines of a network's file, sorted (no IPv6: Corral's networks have none). */
function entryLines(network: ResolverNetwork): string[] {
  const entries = [...network.entries].sort((a, b) => (`${a.project}.${a.pod}` < `${b.project}.${b.pod}` ? -1 : 1));
  return entries.map((entry) => `${entry.project}.${entry.pod} ${entry.ip}  ${entry.names.join(',')}${entry.internalOnly ? ` ${NO_UPSTREAM}` : ''}`);
}

/** The name the gateway carries in a network's file: it changes with the pods, so only the new file answers it. */
export function checkName(network: ResolverNetwork): string {
  return `corral-check-${createHash('sha256').update(entryLines(network).join('\n')).digest('hex').slice(0, 12)}`;
}

/** The text of a network's file: the gateway (and upstream), the gateway as the host asking, then the pods sorted. */
export function resolverFileText(network: ResolverNetwork): string {
  const upstream = upstreamServers();
  return [
    upstream.length > 0 ? `${network.gateway} ${upstream.join(',')}` : network.gateway,
    `${checkId(network)} ${network.gateway}  ${checkName(network)}`,
    ...entryLines(network),
    '',
  ].join('\n');
}

/**
 * The steps from what is there to what the records say: files first, then the process told, then
 * asked whether it serves the networks written (every network, when it was started).
 */
export function planResolver(observed: ObservedResolver, wanted: readonly ResolverNetwork[]): ResolverStep[] {
  const texts = new Map(wanted.map((network) => [network.cniName, resolverFileText(network)]));
  const steps: ResolverStep[] = [];
  const written = wanted.filter((network) => observed.files.get(network.cniName) !== texts.get(network.cniName));
  for (const network of written) steps.push({ kind: 'write', file: network.cniName, text: texts.get(network.cniName)! });
  for (const file of observed.files.keys()) if (!texts.has(file)) steps.push({ kind: 'remove', file });
  const confirm = (networks: readonly ResolverNetwork[]) => networks.map((network): ResolverStep => ({ kind: 'confirm', network: network.cniName, gateway: network.gateway, name: checkName(network) }));
  if (texts.size === 0) {
    if (observed.pid !== undefined) steps.push({ kind: 'stop', pid: observed.pid });
  } else if (observed.pid === undefined) {
    steps.push({ kind: 'start' }, ...confirm(wanted));
  } else if (steps.length > 0) {
    steps.push({ kind: 'reload', pid: observed.pid }, ...confirm(written));
  }
  return steps;
}

/** A step as the plan prints it. */
export function describeResolverStep(step: ResolverStep): string {
  switch (step.kind) {
    // Lines: the gateway, the check entry, one per pod, and the empty one after the last newline.
    case 'write': return `write the names of network ${step.file} (${step.text.split('\n').length - 3} pods)`;
    case 'remove': return `remove the names of network ${step.file}`;
    case 'start': return 'start aardvark-dns';
    case 'reload': return `reload aardvark-dns (pid ${step.pid})`;
    case 'stop': return `stop aardvark-dns (pid ${step.pid})`;
    case 'confirm': return `confirm aardvark-dns serves network ${step.network} (${step.name} at ${step.gateway})`;
  }
}

/** Every bridged pod of the run dir's projects, grouped by network; a network's gateway from any pod's CNI result. */
export async function resolverNetworks(dirs: Dirs): Promise<ResolverNetwork[]> {
  const networks = new Map<string, { gateway: string; entries: ResolverEntry[] }>();
  for (const { project, pod, attachment } of await runDirAttachments(dirs, 'the names by DNS')) {
    const internalOnly = attachment.networks.every((one) => isInternal(one.config));
    for (const one of attachment.networks) {
      const gateway = one.result.ips?.[0]?.gateway;
      if (!one.ip || !gateway) continue;
      const network = networks.get(one.config.name) ?? { gateway, entries: [] };
      network.entries.push({ project, pod, ip: one.ip, names: resolverNames(project, pod, one.aliases ?? []), ...(internalOnly ? { internalOnly } : {}) });
      networks.set(one.config.name, network);
    }
  }
  return [...networks].map(([cniName, network]) => ({ cniName, ...network }));
}

/** Whether a network is internal: as its list says, or by its bridge's NAT in a list of an older Corral (ipMasq was !internal). */
function isInternal(config: NetworkConfigList): boolean {
  return config.internal ?? config.plugins.some((plugin) => plugin.type === 'bridge' && plugin.ipMasq === false);
}

/** The files of the config dir (a leftover temporary file of a crashed write too) and the live process. */
export async function observeResolver(dirs: Dirs): Promise<ObservedResolver> {
  const { config } = resolverPaths(dirs);
  const files = new Map<string, string>();
  for (const file of await namesInDir(config)) {
    if (file === PID_FILE) continue;
    files.set(file, await readFile(path.join(config, file), 'utf8'));
  }
  return { files, pid: await runningResolver(dirs) };
}

/** The pid of the aardvark-dns serving these dirs, if it runs (its pid file names a live aardvark-dns of this config dir). */
export async function runningResolver(dirs: Dirs): Promise<number | undefined> {
  const { config } = resolverPaths(dirs);
  const pid = Number((await readFile(path.join(config, PID_FILE), 'utf8').catch(whenMissing(''))).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(whenMissing('', ['ESRCH']));
  return commandLine.includes('aardvark-dns') && commandLine.split('\0').includes(config) ? pid : undefined;
}

/** Makes the resolver serve what the attachment records say; under the host networks' lock, as several projects share it. */
export async function syncResolver(dirs: Dirs): Promise<void> {
  await withHostNetworks(dirs, 'update the names by DNS', async () => {
    const steps = planResolver(await observeResolver(dirs), await resolverNetworks(dirs));
    for (const step of steps) await executeResolverStep(dirs, step);
  });
}

async function executeResolverStep(dirs: Dirs, step: ResolverStep): Promise<void> {
  const { config } = resolverPaths(dirs);
  log.debug(describeResolverStep(step));
  switch (step.kind) {
    case 'write':
      await mkdir(config, { recursive: true, mode: 0o755 });
      await writeFileAtomic(path.join(config, step.file), step.text, 0o644);
      crashPoint('resolver: names written');
      return;
    case 'remove':
      await rm(path.join(config, step.file), { force: true });
      return;
    case 'start':
      await startResolver(config);
      return;
    case 'reload':
      process.kill(step.pid, 'SIGHUP');
      return;
    case 'stop':
      await stopResolver(config, step.pid);
      return;
    case 'confirm':
      await confirmOrForget(dirs, step);
  }
}

/** Asks the resolver for the network's check name; when it never answers right, removes the file, so that the next sync writes it again and reloads. */
async function confirmOrForget(dirs: Dirs, step: Extract<ResolverStep, { kind: 'confirm' }>): Promise<void> {
  try {
    const took = await confirmResolverAnswers(step);
    log.debug(`aardvark-dns answered for network ${step.network} after ${took} ms`);
  } catch (error) {
    await rm(path.join(resolverPaths(dirs).config, step.network), { force: true });
    throw error;
  }
}

async function startResolver(config: string): Promise<void> {
  // It forks and returns once the child has written its pid file; the child lives on, as conmon does.
  const { execa } = await import('execa');
  const result = await execa(AARDVARK_DNS, ['--config', config, '-p', String(DNS_PORT), 'run'], { reject: false, stdin: 'ignore' });
  if (result.failed) {
    const why = result.code === 'ENOENT' ? `${AARDVARK_DNS} is not installed (apt-get install aardvark-dns, or name it with CORRAL_AARDVARK_DNS)` : String(result.stderr || result.message).trim();
    throw new Error(`could not start the pods' resolver (${AARDVARK_DNS} --config ${config}): ${why}`, { cause: result });
  }
  const pid = Number((await readFile(path.join(config, PID_FILE), 'utf8')).trim());
  await placeResolver(pid);
  // Until its handler is in place a SIGHUP (the next sync's reload) would end it.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await catchesSighup(pid))) {
    if (Date.now() > deadline) throw new Error(`aardvark-dns (pid ${pid}, config ${config}) did not get ready within ${READY_TIMEOUT_MS} ms: see the system log (it logs to syslog)`);
    await sleep(POLL_MS);
  }
}

/** Whether the process has a handler for SIGHUP (bit 1 of SigCgt in /proc/PID/status). */
async function catchesSighup(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return (BigInt(`0x${caught}`) & 1n) === 1n;
}

async function stopResolver(config: string, pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  // Until it is gone or a zombie: its parent is init (it forked away from the command that started
  // it), and an init that reaps late (this VM's took ~2 s) must not hold up every bridged down.
  while (processRuns(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await sleep(POLL_MS);
  }
  await rm(config, { recursive: true, force: true });
}

/** The resolver's address for a pod: the gateway of its first bridged network, where aardvark-dns listens. */
export function resolverAddressOf(attachment: { readonly networks: readonly { readonly result: { readonly ips?: readonly { readonly gateway?: string }[] } }[] } | undefined): string | undefined {
  return attachment?.networks.map((one) => one.result.ips?.[0]?.gateway).find((gateway) => gateway !== undefined);
}

/** For the leak checker: the config dir's network files left, and a live process. */
export async function resolverLeftovers(dirs: Dirs): Promise<string[]> {
  const observed = await observeResolver(dirs);
  return [
    ...[...observed.files.keys()].map((file) => `names of network ${file} in ${resolverPaths(dirs).config}`),
    ...(observed.pid !== undefined ? [`aardvark-dns pid ${observed.pid}`] : []),
  ];
}
