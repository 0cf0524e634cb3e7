import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { listBuildContainers } from '../../src/images/build-leftovers.js';
import { bridgeNameFor } from '../../src/network/project-network.js';
import { bridgeOf } from '../../src/network/config-list.js';
import { hostCniName } from '../../src/network/host-network.js';
import { hostNetworkPaths, resolverPaths } from '../../src/state/paths.js';
import { projectSlice, systemdIsInit } from '../../src/runtime/monitors.js';
import { CLAIMS_DIR, subnetContains } from '../../src/network/subnet.js';

// Nothing leaks: after a suite, no mount under its dirs (overlays, tmpfs, pinned namespaces), no
// cgroup of its projects in any hierarchy, no runc state, no conmon or supervisor process of its own (nor,
// with systemd as init, a slice or scope of theirs),
// no pods' resolver (aardvark-dns) of its run dir nor file in its config dir,
// no bridge, iptables rule or subnet claim of its project networks (veths die with the namespaces;
// a bridge of Corral's pool whose subnet nobody claims counts, whoever left it),
// no buildah working container of its builds (buildah's storage is the host's: containers of other
// programs and of other suites running at the same time are told apart by the build's work dir,
// which Corral marks them with and which lies under the suite's state dir).

export interface LeakScope {
  readonly dirs: readonly string[];
  readonly projects: readonly string[];
  /** Named networks of the projects, whose bridges are looked for by name too (default always is). */
  readonly networks?: readonly string[];
  /** Host networks the suite made (`corral network create`): their bridges and rules are looked for by name too. */
  readonly hostNetworks?: readonly string[];
  /** The runc roots the suite used (run dir + project + /runc). */
  readonly runcRoots?: readonly string[];
}

async function mountsUnder(dirs: readonly string[]): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => dirs.some((dir) => point === dir || point.startsWith(`${dir}/`)));
}

async function cgroupsOf(projects: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  const hierarchies = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : hierarchies.map((name) => `/sys/fs/cgroup/${name}`);
  for (const root of roots) {
    for (const project of projects) {
      if (existsSync(`${root}/corral/${project}`)) left.push(`${root}/corral/${project}`);
    }
  }
  return left;
}

/** Monitor processes (conmon, sd_notify keepers) whose command line names one of the dirs. */
async function monitorsUnder(name: string, dirs: readonly string[]): Promise<string[]> {
  const result = await execa('pgrep', ['-a', name], { reject: false });
  return String(result.stdout).split('\n').filter((line) => line && dirs.some((dir) => line.includes(dir)));
}

/**
 * The project networks: bridges (the default network's by name, the named networks' as bridges
 * whose subnet nobody claims), iptables rules that name the projects, subnet claims.
 */
async function networkLeftovers(dirs: readonly string[], projects: readonly string[], networks: readonly string[], hostNetworks: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  const links = String((await execa('ip', ['-o', 'link', 'show'], { reject: false })).stdout);
  // A host network outlives every project's down: a suite that makes one removes it (corral network rm).
  for (const dir of dirs) {
    const paths = hostNetworkPaths({ run: dir, state: dir });
    const records = (await readdir(paths.records).catch(() => [] as string[])).filter((file) => file.endsWith('.json'));
    left.push(...records.map((file) => `host network ${file.slice(0, -'.json'.length)} (${paths.records}/${file}), never removed with corral network rm`));
    for (const name of hostNetworks) {
      const bridge = bridgeOf(paths.subnetOwner(name));
      if (links.includes(` ${bridge}:`)) left.push(`bridge ${bridge} of host network ${name}`);
      const leases = path.join(paths.leases, hostCniName(name));
      if (existsSync(leases)) left.push(`IPAM leases ${leases} of host network ${name}`);
    }
  }
  for (const dir of dirs) {
    for (const project of projects) {
      for (const network of ['default', ...networks]) {
        const bridge = bridgeNameFor(path.join(dir, project), network);
        if (links.includes(` ${bridge}:`)) left.push(`bridge ${bridge} of ${project}'s network ${network}`);
      }
      const leases = path.join(dir, project, 'cni');
      if (existsSync(leases)) left.push(`IPAM leases ${leases}`);
    }
  }
  const rules = String((await execa('iptables-save', [], { reject: false })).stdout).split('\n');
  left.push(...rules.filter((rule) => projects.some((project) => rule.includes(`corral-${project}`) || rule.includes(`"${project}.`)) || hostNetworks.some((name) => rule.includes(`"${hostCniName(name)}\\"`) || rule.includes(`"${hostCniName(name)}"`))).map((rule) => `iptables ${rule}`));
  const claims = await readdir(CLAIMS_DIR).catch(() => [] as string[]);
  // The firewall plugin's rules name no network, only a pod's address: one in Corral's pool whose
  // subnet nobody claims any more was left behind by somebody.
  const claimed = claims.map((claim) => claim.replace('_', '/'));
  left.push(...rules.filter((rule) => {
    const address = /^-A CNI-FORWARD .*-[sd] (10\.89\.\d+\.\d+)\/32 /.exec(rule)?.[1];
    return address !== undefined && !claimed.some((cidr) => subnetContains(cidr, address));
  }).map((rule) => `iptables ${rule} (of no claimed subnet)`));
  for (const claim of claims) {
    const owner = await readFile(path.join(CLAIMS_DIR, claim), 'utf8').catch(() => '');
    if (dirs.some((dir) => owner.startsWith(`${dir}/`))) left.push(`subnet claim ${claim} by ${owner.trim()}`);
  }
  // A Corral bridge whose gateway lies in no claimed subnet was left behind by somebody (the claim
  // goes after the bridge, and comes before it).
  const bridges = String((await execa('ip', ['-o', '-4', 'addr', 'show'], { reject: false })).stdout).split('\n')
    .map((line) => /^\d+: (cr-\w+)\s+inet (10\.89\.\d+\.\d+)\//.exec(line)).filter((match) => match !== null);
  left.push(...bridges.filter((match) => !claimed.some((cidr) => subnetContains(cidr, match[2]!))).map((match) => `bridge ${match[1]} (${match[2]}) of no claimed subnet`));
  return left;
}

/** With systemd as init: the projects' slices and monitor scopes that systemd still has loaded. */
async function systemdUnitsOf(projects: readonly string[]): Promise<string[]> {
  if (!systemdIsInit()) return [];
  const result = await execa('systemctl', ['list-units', '--all', '--plain', '--no-legend', 'corral-*'], { reject: false });
  return String(result.stdout).split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((unit) => projects.some((project) => unit === projectSlice(project) || unit.startsWith(`corral-${project}-`)));
}

/** Supervisor processes (`corral supervise -p NAME`) of the projects. */
async function supervisorsOf(projects: readonly string[]): Promise<string[]> {
  const result = await execa('pgrep', ['-af', '(main|corral)\.js supervise'], { reject: false });
  return String(result.stdout).split('\n').filter((line) => line && projects.some((project) => line.endsWith(` ${project}`)));
}

async function runcStates(roots: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const root of roots) {
    const entries = await readdir(root).catch(() => [] as string[]);
    left.push(...entries.map((entry) => `${root}/${entry}`));
  }
  return left;
}

/** buildah working containers of builds whose work dir is under the dirs. */
async function buildahContainersUnder(dirs: readonly string[]): Promise<string[]> {
  const containers = await listBuildContainers();
  return containers.filter(({ build }) => dirs.some((dir) => build.startsWith(`${dir}/`))).map(({ id, name, build }) => `${name} (${id.slice(0, 12)}) of the build ${build}`);
}

/** The resolver's config dir (network/resolver.ts) of a run dir among the dirs: its network files, its pid file. */
async function resolverEntriesUnder(dirs: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const dir of dirs) {
    const config = resolverPaths({ run: dir, state: dir }).config;
    left.push(...(await readdir(config).catch(() => [] as string[])).map((file) => `resolver entry ${config}/${file}`));
  }
  return left;
}

/** Everything the scope left behind, as readable lines; empty when clean. */
export async function findLeaks(scope: LeakScope): Promise<string[]> {
  return [
    ...(await mountsUnder(scope.dirs)).map((point) => `mount ${point}`),
    ...(await cgroupsOf(scope.projects)).map((dir) => `cgroup ${dir}`),
    ...(await monitorsUnder('conmon', scope.dirs)).map((line) => `conmon ${line}`),
    ...(await monitorsUnder('corral-notify-k', scope.dirs)).map((line) => `sd_notify keeper ${line}`),
    ...(await monitorsUnder('aardvark-dns', scope.dirs)).map((line) => `resolver ${line}`),
    ...(await resolverEntriesUnder(scope.dirs)),
    ...(await supervisorsOf(scope.projects)).map((line) => `supervisor ${line}`),
    ...(await systemdUnitsOf(scope.projects)).map((unit) => `systemd unit ${unit}`),
    ...(await networkLeftovers(scope.dirs, scope.projects, scope.networks ?? [], scope.hostNetworks ?? [])),
    ...(await buildahContainersUnder(scope.dirs)).map((line) => `buildah container ${line}`),
    ...(await runcStates([...(scope.runcRoots ?? []), ...scope.dirs.flatMap((dir) => scope.projects.map((project) => `${dir}/${project}/runc`))])).map((dir) => `runc state ${dir}`),
  ];
}
