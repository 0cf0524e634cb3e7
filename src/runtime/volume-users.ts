import path from 'node:path';
import { isValidProjectName } from '../project/name.js';
import { readAppliedProject } from '../project/applied-project.js';
import { hostVolumePaths, volumeOfSource, type Dirs } from '../state/paths.js';
import { isRecord, namesInDir, readStateJson } from '../state/read.js';
import { openRuntime, type RuntimeContext } from './context.js';
import { observeProject } from './observe.js';

// Which containers use a volume, read from what they mount: every container that exists, running
// or not, has a bundle whose config names its mounts' host dirs. A volume in use is never removed
// (`volume rm`, `down -v`), as docker refuses to remove one. A container the project applied but
// has not made yet (no bundle) is read from the applied project.

/** What a container uses: the project's own volumes and the host's, by name. */
export interface ContainerVolumes {
  /** `pod/container`. */
  readonly container: string;
  readonly own: readonly string[];
  readonly host: readonly string[];
}

const bundleFix = 'run `corral down` (it removes containers without their bundles), then `corral up`';
interface BundleMounts { readonly mounts?: readonly { readonly source?: string }[] }
const isBundleConfig = (value: unknown): value is BundleMounts => isRecord(value) && (value.mounts === undefined || Array.isArray(value.mounts));

/** The volumes each container of the project uses: from its bundle, else (none yet) the applied project. */
export async function volumesOfContainers(context: RuntimeContext): Promise<ContainerVolumes[]> {
  const [observed, applied] = await Promise.all([observeProject(context), readAppliedProject(context.paths.applied)]);
  return Promise.all(observed.containers.map(async (container): Promise<ContainerVolumes> => {
    const name = `${container.pod}/${container.name}`;
    const config = await readStateJson<BundleMounts>(context.paths.container(container.id).config, { fix: bundleFix, isValid: isBundleConfig, shape: 'an OCI bundle config (mounts)' });
    if (config) {
      const sources = config.mounts?.flatMap((mount) => (mount.source === undefined ? [] : [mount.source])) ?? [];
      const named = (of: (source: string) => string | undefined) => [...new Set(sources.flatMap((source) => of(source) ?? []))];
      return { container: name, own: named((source) => volumeOfSource(context.paths.volumes, source)), host: named((source) => volumeOfSource(hostVolumePaths(context.dirs).dir, source)) };
    }
    const mounts = (applied?.pods.find((pod) => pod.name === container.pod)?.containers.find((one) => one.name === container.name)?.mounts ?? []).filter((mount) => mount.type === 'named');
    return {
      container: name,
      own: [...new Set(mounts.flatMap((mount) => (mount.host === undefined && mount.volume !== undefined ? [mount.volume] : [])))],
      host: [...new Set(mounts.flatMap((mount) => (mount.host === undefined ? [] : [mount.host.name])))],
    };
  }));
}

/** Every project of these dirs that may have containers: those with a run dir or a state dir. */
async function projectsOf(dirs: Dirs): Promise<string[]> {
  const names = [...await namesInDir(dirs.run), ...await namesInDir(path.join(dirs.state, 'projects'))];
  return [...new Set(names)].filter(isValidProjectName).sort();
}

/** Host volume name -> the containers of every project that use it, as `project: pod/container`. */
export async function hostVolumeUsers(dirs: Dirs, options: { except?: string } = {}): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  for (const project of await projectsOf(dirs)) {
    if (project === options.except) continue;
    const context = await openRuntime(project, { dirs, readOnly: true });
    for (const container of await volumesOfContainers(context)) {
      for (const volume of container.host) users.set(volume, [...(users.get(volume) ?? []), `${project}: ${container.container}`]);
    }
  }
  return users;
}
