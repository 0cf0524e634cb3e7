import { rm } from 'node:fs/promises';
import path from 'node:path';
import { hostVolumePaths, type Dirs } from '../state/paths.js';
import { hostVolumeNames, readHostVolume, withHostVolumes, type HostVolumeRecord } from './host-volume.js';
import { hostVolumeUsers } from './volume-users.js';
import { planVolumeRemoval, type VolumeRemovalPlan } from './volume-removal-plan.js';

// Removing host volumes, for `corral volume rm NAME` and for `down -v` of the project that made one
// (a `name:` of its definitions). Observed (records, and the containers of every project that
// mount one), planned as data, then removed, all under the host volumes' lock, so that two
// removals never judge one volume at once. A volume in use is kept, as docker keeps it.

/** The host's volumes and their records. */
export async function readHostVolumes(dirs: Dirs): Promise<Map<string, HostVolumeRecord>> {
  const names = await hostVolumeNames(dirs);
  const records = await Promise.all(names.map(async (name) => [name, await readHostVolume(dirs, name)] as const));
  return new Map(records.flatMap(([name, record]) => (record === undefined ? [] : [[name, record] as const])));
}

async function removeHostVolume(dirs: Dirs, name: string): Promise<void> {
  await rm(path.dirname(hostVolumePaths(dirs).data(name)), { recursive: true, force: true });
}

/**
 * Under the lock: observes, lets `decide` judge the plan (`volume rm` refuses all of it when one is
 * in use), removes what it keeps. `names` of undefined: the volumes `project` made.
 */
export async function removeHostVolumes(dirs: Dirs, request: { names?: readonly string[]; madeBy?: string; decide?: (plan: VolumeRemovalPlan) => void }): Promise<VolumeRemovalPlan> {
  return withHostVolumes(dirs, 'remove host volumes', async () => {
    const existing = await readHostVolumes(dirs);
    const names = request.names ?? [...existing].flatMap(([name, record]) => (record.createdBy !== undefined && record.createdBy === request.madeBy ? [name] : []));
    if (names.length === 0) return { remove: [], missing: [], refused: [] };
    const users = await hostVolumeUsers(dirs);
    const plan = planVolumeRemoval(names, new Map([...existing.keys()].map((name) => [name, users.get(name) ?? []])));
    request.decide?.(plan);
    for (const name of plan.remove) await removeHostVolume(dirs, name);
    return plan;
  });
}
