import { readdirSync } from 'node:fs';
import type { PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import type { Raw, Translation } from './translation.js';

// compose's `gpus:` and `deploy.resources.reservations.devices` with `capabilities: [gpu]`. docker
// hands GPUs over through the vendor's container toolkit (CDI specs, driver libraries mounted in),
// which Corral does not use: such a service is refused at its line, saying whether this host has a
// GPU at all, rather than started without the GPU it counts on.

/** Device nodes of a GPU on this host: NVIDIA's, a DRM render node (Intel, AMD), AMD's compute node. */
export function hostGpuNodes(dev = '/dev'): string[] {
  const entries = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };
  return [
    ...entries(dev).filter((name) => /^nvidia\d+$/.test(name) || name === 'kfd').map((name) => `${dev}/${name}`),
    ...entries(`${dev}/dri`).filter((name) => name.startsWith('renderD')).map((name) => `${dev}/dri/${name}`),
  ];
}

/** Why a GPU cannot be given here, and what to do instead. */
function gpuRefusal(gpuNodes: readonly string[]): { why: string; fix: string } {
  if (gpuNodes.length === 0) {
    return { why: 'asks for a GPU, but this host has none (no /dev/nvidia*, /dev/dri/renderD* or /dev/kfd)', fix: 'run the project on a host with a GPU, or remove the GPU request' };
  }
  return {
    why: `asks for a GPU, which docker hands over through the vendor's container toolkit (CDI); Corral does not, and would start the service without it (this host has ${gpuNodes.join(', ')})`,
    fix: `give the device nodes with devices: (e.g. devices: ["${gpuNodes[0]}"]) where the image brings its own driver libraries, or remove the GPU request`,
  };
}

/** Refuses a GPU request of a service at its line; warns about device reservations of other kinds, which have no place. */
export function refuseGpus(t: Translation, raw: Raw, at: PathSegment[], gpuNodes: () => readonly string[]): void {
  if (raw.gpus !== undefined) {
    const { why, fix } = gpuRefusal(gpuNodes());
    throw errorAt(t.source, [...at, 'gpus'], `gpus: ${why}`, fix, { key: true });
  }
  const deploy = t.mapping(raw.deploy, [...at, 'deploy'], '{ resources: {} }');
  const resources = t.mapping(deploy.resources, [...at, 'deploy', 'resources'], '{ reservations: {} }');
  const reservations = t.mapping(resources.reservations, [...at, 'deploy', 'resources', 'reservations'], '{ memory: 128m }');
  const devicesAt = [...at, 'deploy', 'resources', 'reservations', 'devices'];
  t.mappings(reservations.devices, devicesAt, '{ capabilities: [gpu], count: 1 }').forEach((device, index) => {
    const capabilities = t.list(device.capabilities, [...devicesAt, index, 'capabilities'], '[gpu]').map(String);
    if (capabilities.includes('gpu')) {
      const { why, fix } = gpuRefusal(gpuNodes());
      throw errorAt(t.source, [...devicesAt, index], `a device reservation with capabilities [${capabilities.join(', ')}] ${why}`, fix);
    }
    t.unsupported([...devicesAt, index], `a device reservation with capabilities [${capabilities.join(', ')}] is for a driver Corral does not have; give host device nodes with devices:, ignored`);
  });
}
