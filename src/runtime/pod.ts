import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pod, Resources } from '../project/model.js';
import { CPU_PERIOD_US } from './spec.js';
import { podCgroup } from '../state/paths.js';
import * as native from '../native.js';
import type { RuntimeContext } from './context.js';
import { mountPointsUnder } from './mounts.js';
import { RuntimeError } from './errors.js';
import { ensurePidHolder, livePidHolder } from './pid-holder.js';
import { crashPoint } from '../crash-point.js';

// A pod's sandbox is what its containers share: namespaces pinned by bind mounts (no pause process),
// a /dev/shm tmpfs, /etc/hosts, /etc/hostname and /etc/resolv.conf, and a parent cgroup. What the
// network gives a sandbox (an address, the hosts and resolv.conf it writes) comes from network/,
// which stands above runtime/: it is handed in as a SandboxNetwork (network/pod-sandbox.ts).

/** The network's part of a sandbox, called at its place among the sandbox's steps. */
export interface SandboxNetwork {
  /** Attaches the pod inside its pinned network namespace (undefined: the host's); returns its /etc/hosts. */
  readonly attach: (netNamespace: string | undefined) => Promise<string>;
  /** The pod's /etc/resolv.conf. */
  readonly resolvConf: () => Promise<string>;
  /** Detaches the pod while its namespace still exists. */
  readonly detach: () => Promise<void>;
}

/** Paths of the pinned namespaces of a pod, by type, for the ones the pod shares. */
export function pinnedNamespacePaths(context: RuntimeContext, pod: Pod): Partial<Record<native.NamespaceType, string>> {
  const dir = context.paths.pod(pod.name).ns;
  return Object.fromEntries(pinnedTypesOf(pod).map((kind) => [kind, path.join(dir, kind)]));
}

/** The shared namespaces that are pinned by bind mounts; pid is held by a process instead. */
const pinnedTypesOf = (pod: Pod) => pod.share.filter((kind): kind is native.NamespaceType => kind !== 'pid');

/** The pod's PID namespace (share: pid) as a path to join, while its holder lives. */
export async function podPidNamespace(context: RuntimeContext, pod: Pod): Promise<string> {
  const holder = await livePidHolder(context.paths.pod(pod.name).pidHolder);
  if (!holder) throw new Error(`the PID namespace of pod ${pod.name} is gone (its holder process exited); run \`corral up\` again`);
  return `/proc/${holder}/ns/pid`;
}


/** The model's limits as the native layer writes them; -1 lifts a limit that was removed from the file. */
function cgroupLimitsOf(resources: Resources): native.CgroupLimits {
  return {
    memoryBytes: resources.memoryBytes ?? -1,
    memoryReservationBytes: resources.memoryReservationBytes ?? -1,
    cpuQuotaUs: resources.cpus === undefined ? -1 : Math.round(resources.cpus * CPU_PERIOD_US),
    cpuPeriodUs: CPU_PERIOD_US,
    pidsMax: resources.pidsLimit ?? -1,
  };
}

/** Creates what is missing of a pod's sandbox; what exists is kept, so this is safe to repeat. */
export async function ensureSandbox(context: RuntimeContext, pod: Pod, network: Pick<SandboxNetwork, 'attach' | 'resolvConf'>): Promise<void> {
  const files = context.paths.pod(pod.name);
  try {
    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    await native.createCgroup(podCgroup(context.project, pod.name));
    await native.setCgroupLimits(podCgroup(context.project, pod.name), cgroupLimitsOf(pod.resources));
    crashPoint('pod sandbox: cgroup made');
    const mounted = new Set(await mountPointsUnder(files.dir));

    const pins = Object.values(pinnedNamespacePaths(context, pod)).filter((pin): pin is string => pin !== undefined);
    if (!pins.every((pin) => mounted.has(pin))) {
      for (const pin of pins) await native.removePinnedNamespace(pin);
      if (pins.length > 0) {
        await native.createPinnedNamespaces({ dir: files.ns, types: pinnedTypesOf(pod), hostname: pod.hostname });
      }
    }
    crashPoint('pod sandbox: namespaces pinned');
    if (pod.share.includes('pid')) await ensurePidHolder({ file: files.pidHolder, podCgroup: podCgroup(context.project, pod.name) });

    await mkdir(files.shm, { recursive: true, mode: 0o755 });
    if (!mounted.has(files.shm)) {
      await native.mountTmpfs(files.shm, { sizeBytes: pod.shmSize, mode: 0o1777, noexec: true });
    }

    crashPoint('pod sandbox: shm mounted');
    const hosts = await network.attach(pinnedNamespacePaths(context, pod).net);
    // In place, not renamed: running containers see these files through bind mounts.
    crashPoint('pod sandbox: attached');
    await writeFile(files.hosts, hosts, { mode: 0o644 });
    await writeFile(files.hostname, `${pod.hostname}\n`, { mode: 0o644 });
    await writeFile(files.resolvConf, await network.resolvConf(), { mode: 0o644 });
  } catch (error) {
    throw new RuntimeError({
      resource: pod.name, step: 'pod sandbox', message: (error as Error).message, cause: error,
      hint: 'run `corral down` to clean up, then `corral up` again; `--debug` shows the failing syscall',
    });
  }
}

/** Removes a pod's sandbox: kills whatever is left in its cgroup, unmounts and unpins, deletes its files. */
export async function removeSandbox(context: RuntimeContext, podName: string, network: Pick<SandboxNetwork, 'detach'>): Promise<void> {
  const files = context.paths.pod(podName);
  const cgroup = podCgroup(context.project, podName);
  await native.killCgroup(cgroup);
  crashPoint('remove pod: its processes killed');
  // Detached while the namespace still exists, so the plugins can remove the veth and their rules.
  await network.detach();
  crashPoint('remove pod: detached');
  await native.removeCgroup(cgroup);
  crashPoint('remove pod: cgroup removed');
  for (const point of await mountPointsUnder(files.dir)) {
    if (path.dirname(point) === files.ns) await native.removePinnedNamespace(point);
    else await native.unmount(point, { detach: true });
  }
  crashPoint('remove pod: unpinned and unmounted');
  await rm(files.dir, { recursive: true, force: true });
}

/** Names of pods whose sandbox exists (fully or partly) on the host. */
export async function existingPodSandboxes(context: RuntimeContext): Promise<string[]> {
  try {
    await access(context.paths.podsRun);
  } catch {
    return [];
  }
  return (await readdir(context.paths.podsRun)).sort();
}
