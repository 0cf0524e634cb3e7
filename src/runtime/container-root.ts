import { constants, close, open } from 'node:fs';
import { promisify } from 'node:util';
import type { IdMapping } from '../project/model.js';
import { isRecord, parseStateJson, readStateText, whenMissing } from '../state/read.js';
import { RuntimeError } from './errors.js';
import { mountPoints } from './mounts.js';
import type { ObservedContainer } from './observe.js';
import type { RuntimeContext } from './context.js';
import { belongsToContainer } from './signal.js';
import type { TreeRoot } from './tree-in-root.js';

// The root `corral cp` resolves a container's paths in, opened once as a descriptor for the whole copy.
// - A container with a process (running, paused, or created and waiting to start): /proc/<pid>/root.
//   That is "/" as the container sees it, in its own mount namespace, so paths reach its volumes,
//   binds, tmpfs and secrets where they are mounted; the bundle's rootfs would show none of them, and
//   a file copied to a volume's path would land in the dir hidden under the mount. The pid comes from
//   runc's state and is trusted only while it is still in the container's cgroup, checked after the
//   root is opened: a pid reused by another process in between would give that process's root.
// - A stopped one has no process and no mount namespace: its bundle's rootfs, the overlay that stays
//   mounted until the container is removed. Its volumes are not mounted there (as for a stopped
//   container in podman without mounting it), so a path inside one reaches the dir under the mount point.

const closeFd = promisify(close);

/** The user namespace maps of the container's spec, when it has one: its ids are other ids on the host. */
async function idMapsOf(context: RuntimeContext, id: string): Promise<TreeRoot['idMaps']> {
  const file = context.paths.container(id).config;
  const fix = `the bundle of container ${id} is damaged; run \`corral up\` to recreate it`;
  const text = await readStateText(file, fix);
  if (text === undefined) return undefined;
  type OciMapping = { containerID: number; hostID: number; size: number };
  const spec = parseStateJson<{ linux?: { uidMappings?: OciMapping[]; gidMappings?: OciMapping[] } }>(file, text, { fix, isValid: isRecord, shape: 'an OCI runtime spec' });
  const convert = (mappings: readonly OciMapping[]): IdMapping[] => mappings.map((one) => ({ containerId: one.containerID, hostId: one.hostID, size: one.size }));
  const { uidMappings, gidMappings } = spec.linux ?? {};
  return uidMappings?.length && gidMappings?.length ? { uid: convert(uidMappings), gid: convert(gidMappings) } : undefined;
}

// Node opens every descriptor close-on-exec.
async function openDirectory(dir: string): Promise<number> {
  return promisify(open)(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** The descriptor of the container's root (see above); the caller closes `fd`. */
export async function openContainerRoot(context: RuntimeContext, container: ObservedContainer): Promise<TreeRoot> {
  const resource = `${container.pod}/${container.name}`;
  const label = `${resource}:`;
  const idMaps = await idMapsOf(context, container.id);
  if (container.status !== 'exited' && container.pid !== undefined && container.pid > 0) {
    const fd = await openDirectory(`/proc/${container.pid}/root`).catch(whenMissing(undefined, ['ESRCH']));
    if (fd !== undefined && await belongsToContainer(context, container.id, container.pid)) return { fd, label, ...(idMaps ? { idMaps } : {}) };
    if (fd !== undefined) await closeFd(fd);
    throw new RuntimeError({ resource, step: 'copy', message: `its process ${container.pid} is gone`, hint: 'it has just exited; try again, or see `corral ps`' });
  }
  const { rootfs } = context.paths.container(container.id);
  if (!(await mountPoints()).includes(rootfs)) {
    throw new RuntimeError({ resource, step: 'copy', message: `its root file system is not mounted (${rootfs})`, hint: 'start it (corral start) or recreate it (corral up)' });
  }
  return { fd: await openDirectory(rootfs), label, ...(idMaps ? { idMaps } : {}) };
}
