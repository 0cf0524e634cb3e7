import { stat } from 'node:fs/promises';
import type { DeviceMapping } from '../project/model.js';

// The host device nodes a container asks for (`devices:`), looked up on this host at create time:
// runc makes each node in the container with the host's numbers, owner and mode, and the device
// cgroup (v1's devices controller, v2's eBPF program that runc loads) lets the container use it.

/** A device as the OCI spec wants it. */
export interface ResolvedDevice {
  readonly path: string;
  readonly type: 'c' | 'b';
  readonly major: number;
  readonly minor: number;
  readonly fileMode: number;
  readonly uid: number;
  readonly gid: number;
  /** The cgroup access: r, w, m. */
  readonly access: string;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** glibc's major() and minor() of a dev_t. */
const majorOf = (rdev: bigint) => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
const minorOf = (rdev: bigint) => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));

/** Each device's node on the host: refused when it is missing or no character or block device. */
export async function resolveDevices(devices: readonly DeviceMapping[]): Promise<ResolvedDevice[]> {
  return Promise.all(devices.map(async (device) => {
    const node = await stat(device.hostPath, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      throw new Error(`device ${device.hostPath} does not exist on this host (ENOENT); plug it in or remove it from devices:`, { cause: error });
    });
    const kind = Number(node.mode) & S_IFMT;
    if (kind !== S_IFCHR && kind !== S_IFBLK) throw new Error(`${device.hostPath} is not a device node (devices: takes character and block devices); mount it as a volume instead`);
    return {
      path: device.containerPath,
      type: kind === S_IFCHR ? 'c' : 'b',
      major: majorOf(node.rdev),
      minor: minorOf(node.rdev),
      fileMode: Number(node.mode) & 0o7777,
      uid: Number(node.uid),
      gid: Number(node.gid),
      access: device.permissions,
    };
  }));
}
