import path from 'node:path';
import type { DeviceMapping } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';

// A container's `devices:`: host device nodes it gets, as docker's --device and compose's devices
// write them (the schema has checked the shapes). Whether each is a device node is the runtime's
// to find out at create time, on the host where it runs.

const ALL_PERMISSIONS = 'rwm';

/** The permissions in cgroup order (rwm), each once. */
const permissionsOf = (text: string) => [...ALL_PERMISSIONS].filter((letter) => text.includes(letter)).join('');

/** `HOST[:CONTAINER[:PERMISSIONS]]` or `{ source, target, permissions }`, as the model's mapping. */
function deviceOf(raw: unknown): DeviceMapping {
  if (typeof raw === 'string') {
    const [hostPath, containerPath = hostPath, permissions = ALL_PERMISSIONS] = raw.split(':') as [string, string?, string?];
    return { hostPath: path.posix.normalize(hostPath), containerPath: path.posix.normalize(containerPath), permissions: permissionsOf(permissions) };
  }
  const long = raw as { source: string; target?: string; permissions?: string };
  return { hostPath: path.posix.normalize(long.source), containerPath: path.posix.normalize(long.target ?? long.source), permissions: permissionsOf(long.permissions ?? ALL_PERMISSIONS) };
}

/** The container's devices; two on one container path are refused at the second. */
export function devicesOf(raw: unknown, at: PathSegment[], parsed: ParsedFile): DeviceMapping[] {
  const seen = new Map<string, number>();
  return ((raw ?? []) as unknown[]).map((entry, index) => {
    const device = deviceOf(entry);
    const earlier = seen.get(device.containerPath);
    if (earlier !== undefined) throw errorAt(parsed, [...at, index], `two devices at ${device.containerPath} (also devices[${earlier}])`, 'give each device its own path in the container');
    seen.set(device.containerPath, index);
    return device;
  });
}
