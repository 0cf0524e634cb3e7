import { createHash } from 'node:crypto';
import type { Container, Pod } from '../project/model.js';
import { canonicalJson } from '../canonical-json.js';

export { canonicalJson };

// A container is recreated only when its own configuration changed. The hash covers the container
// and the pod settings it lives in, and leaves out anything that must not force a recreate, as
// compose's hash leaves out build, pull_policy and scale. The model has no profiles nor replicas:
// profiles only choose which pods and containers are loaded, before anything is hashed.

/** The pod's settings that every container of the pod is made with: a change recreates them all. */
export const HASHED_POD_SETTINGS = ['share', 'shmSize', 'hostname', 'resources', 'network', 'labels'] as const;

/** The container's keys that say nothing of what runs: its `watch` rules and the name `ps` shows. */
const UNHASHED_CONTAINER_KEYS = new Set(['watch', 'containerName']);

/**
 * What of the container and its pod the hash covers. Left out: what it waits for (`dependsOn`
 * decides when it starts, not what it is), its `watch` rules (what `corral watch` does), the name
 * compose calls it (`containerName`, shown by `ps`), and of its
 * image how it is fetched: the pull policy, and the build settings once the image id says what was
 * built. The pull policy is hashed as its default rather than dropped, so that a container made
 * before this rule keeps its hash and is not recreated by the upgrade.
 */
export function hashedView(container: Container, pod: Pod): { container: Record<string, unknown>; pod: Record<string, unknown> } {
  // `?? {}`: the applied project a cause is computed against may come from an older Corral without it.
  const { dependsOn: _order, ...lifecycle } = container.lifecycle ?? {};
  const { image } = container;
  const hashed: Partial<Record<keyof Container, unknown>> = {
    lifecycle,
    image: image && { ...image, pullPolicy: 'missing', build: image.id === undefined ? image.build : undefined },
  };
  // In the model's key order, so that a cause lists what changed in the order of the file.
  const view = Object.fromEntries(Object.entries(container).filter(([key]) => !UNHASHED_CONTAINER_KEYS.has(key)).map(([key, value]) => [key, key in hashed ? hashed[key as keyof Container] : value]));
  return { container: view, pod: Object.fromEntries(HASHED_POD_SETTINGS.map((key) => [key, key === 'network' ? hashedNetwork(pod.network) : pod[key]])) };
}

/**
 * The pod's network, without its networks when it is only on `default` with no alias nor address:
 * a pod made before named networks (the implicit default then) keeps its hash across the upgrade.
 */
function hashedNetwork(network: Pod['network']): unknown {
  // An applied project of an older Corral has no networks at all.
  if (!network?.networks) return network;
  const { networks, ...rest } = network;
  const only = networks[0];
  const onlyDefault = networks.length === 1 && only!.name === 'default' && only!.aliases.length === 0 && only!.ipv4Address === undefined && only!.macAddress === undefined && only!.interfaceName === undefined;
  // No networks (host, none) is hashed as before too.
  return networks.length === 0 || onlyDefault ? rest : network;
}

/** sha256 over the container's configuration and its pod's shared settings. */
export function configHash(container: Container, pod: Pod): string {
  return createHash('sha256').update(canonicalJson(hashedView(container, pod))).digest('hex');
}
