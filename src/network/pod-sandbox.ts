import type { Pod, Project } from '../project/model.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ensureSandbox, removeSandbox } from '../runtime/pod.js';
import { addressesOf, gatewayOf, hostsFileFor, resolvConfFor } from './names.js';
import { attachPod, detachPod, type PodAttachment } from './pod-network.js';
import { resolverAddressOf } from './resolver.js';

// A pod's sandbox with its network: runtime/ makes the namespaces, cgroup and files, and calls back
// here at the step where the pod gets its address, so runtime/ never imports network/.

/**
 * Creates what is missing of a pod's sandbox, attached to the project's network; safe to repeat.
 * `firstAddress`: the address to ask for on the pod's first network when it is attached now (a
 * restore's, converge/restore-address.ts).
 */
export async function ensurePodSandbox(context: RuntimeContext, pod: Pod, project: Project, options: { firstAddress?: string } = {}): Promise<void> {
  let attached: PodAttachment | undefined;
  await ensureSandbox(context, pod, {
    attach: async (netNamespace) => {
      attached = await attachPod(context, project, pod, netNamespace, options);
      return hostsFileFor(pod, project, new Map(attached ? [[pod.name, addressesOf(attached)]] : []), gatewayOf(attached));
    },
    // A bridged pod asks the resolver on its gateway (network/resolver.ts), which forwards the rest to the host's servers.
    resolvConf: () => resolvConfFor(pod, { resolver: resolverAddressOf(attached) }),
  });
}

/** Removes a pod's sandbox, detaching it from the network while its namespace still exists. */
export async function removePodSandbox(context: RuntimeContext, podName: string): Promise<void> {
  await removeSandbox(context, podName, { detach: () => detachPod(context, podName) });
}
