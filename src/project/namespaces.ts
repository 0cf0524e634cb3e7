import type { Container, IdMapping, NamespaceMode, Pod, SharedNamespace, UserNamespace } from './model.js';
import type { ParsedFile, PathSegment } from './parsed-file.js';
import { errorAt } from './parsed-file.js';
import type { DependencyRequest } from './lifecycle.js';

// network, ipc, pid and userns of a container: which namespace of each kind it lives in. The pod's
// (when the pod shares that kind), the host's, a private one, or another container's; a container
// that joins another one starts after it, and names it by pod/container, checked once all are known.

type Raw = Record<string, unknown>;

export type NamespaceKey = 'network' | 'ipc' | 'pid';

export const SHARED_KIND: Record<NamespaceKey, SharedNamespace> = { network: 'net', ipc: 'ipc', pid: 'pid' };

function modeOf(value: string): NamespaceMode {
  if (value.startsWith('container:')) {
    const [pod = '', container = ''] = value.slice('container:'.length).split('/');
    return { kind: 'container', pod, container };
  }
  return { kind: value as 'pod' | 'host' | 'none' };
}

export interface NamespacesOptions {
  /** The container as written, at `at`. */
  readonly raw: Raw;
  readonly at: PathSegment[];
  /** Its pod as written, and the kinds the pod shares. */
  readonly podRaw: Raw;
  readonly share: readonly SharedNamespace[];
  readonly parsed: ParsedFile;
}

/** The container's namespace modes; the default is the pod's where the pod shares the kind, else a private one. */
export function namespacesOf({ raw, podRaw, share, at, parsed }: NamespacesOptions): Container['namespaces'] {
  const podDefault = (key: NamespaceKey): NamespaceMode => {
    if (key === 'network' && podRaw.network === 'host') return { kind: 'host' };
    return share.includes(SHARED_KIND[key]) ? { kind: 'pod' } : { kind: 'none' };
  };
  const one = (key: NamespaceKey): NamespaceMode => {
    if (raw[key] === undefined) return podDefault(key);
    const mode = modeOf(String(raw[key]));
    if (mode.kind === 'pod' && !share.includes(SHARED_KIND[key])) {
      throw errorAt(parsed, [...at, key], `${key}: pod, but the pod does not share ${SHARED_KIND[key]}`, `add ${SHARED_KIND[key]} to the pod's share:, or use none, host or container:POD/CONTAINER`);
    }
    return mode;
  };
  return { network: one('network'), ipc: one('ipc'), pid: one('pid') };
}

/** "0:100000:65536" -> a mapping. */
function mappingOf(text: string): IdMapping {
  const [containerId, hostId, size] = text.split(':').map(Number) as [number, number, number];
  return { containerId, hostId, size };
}

/** Overlapping ranges make the kernel refuse the map: say so at load time, at the entry. */
function checkMappings(mappings: readonly IdMapping[], at: PathSegment[], parsed: ParsedFile): void {
  mappings.forEach((mapping, index) => {
    if (mapping.hostId + mapping.size > 2 ** 32 - 1 || mapping.containerId + mapping.size > 2 ** 32 - 1) {
      throw errorAt(parsed, [...at, index], `id range ${mapping.containerId}:${mapping.hostId}:${mapping.size} runs past the largest id`, 'make the range smaller');
    }
    for (const [other, earlier] of mappings.slice(0, index).entries()) {
      const overlaps = (a: number, b: number) => a < b + earlier.size && b < a + mapping.size;
      if (overlaps(mapping.containerId, earlier.containerId) || overlaps(mapping.hostId, earlier.hostId)) {
        throw errorAt(parsed, [...at, index], `id range overlaps entry ${other}`, 'give each entry container and host ids of its own');
      }
    }
  });
}

export function usernsOf(raw: Raw, at: PathSegment[], parsed: ParsedFile): UserNamespace | undefined {
  const value = raw.userns;
  if (value === undefined || value === 'host') return undefined;
  if (value === 'auto') return { auto: true };
  const maps = value as { uid_map: string[]; gid_map: string[] };
  const uidMappings = maps.uid_map.map(mappingOf);
  const gidMappings = maps.gid_map.map(mappingOf);
  checkMappings(uidMappings, [...at, 'userns', 'uid_map'], parsed);
  checkMappings(gidMappings, [...at, 'userns', 'gid_map'], parsed);
  for (const [key, mappings] of [['uid_map', uidMappings], ['gid_map', gidMappings]] as const) {
    if (!mappings.some((mapping) => mapping.containerId === 0)) {
      throw errorAt(parsed, [...at, 'userns', key], `${key} does not map the container's root (id 0)`, 'add an entry "0:HOST_ID:SIZE"');
    }
  }
  return { uidMappings, gidMappings };
}

/**
 * Checks that every container:POD/CONTAINER names another container of the project, and returns the
 * ordering it implies: the joiner starts once the container it joins is started.
 */
export function namespaceDependencies(pods: readonly Pod[], atOf: ReadonlyMap<Container, PathSegment[]>, parsed: ParsedFile): Map<Container, DependencyRequest[]> {
  const known = new Set(pods.flatMap((pod) => pod.containers.map((container) => `${pod.name}/${container.name}`)));
  const requests = new Map<Container, DependencyRequest[]>();
  for (const [container, at] of atOf) {
    for (const key of ['network', 'ipc', 'pid'] as const) {
      const mode = container.namespaces[key];
      if (mode.kind !== 'container') continue;
      const name = `${mode.pod}/${mode.container}`;
      if (name === `${container.pod}/${container.name}`) throw errorAt(parsed, [...at, key], `${name} cannot join its own ${key} namespace`, 'name another container, or use pod, host or none');
      if (!known.has(name)) {
        throw errorAt(parsed, [...at, key], `${key} names container ${name}, which is not in the project`, `use one of: ${[...known].sort().join(', ')}`);
      }
      requests.set(container, [...(requests.get(container) ?? []), { name, condition: 'started', required: true, at: [...at, key], atKey: false }]);
    }
  }
  return requests;
}
