import { createHash } from 'node:crypto';
import type { Container, Pod } from '../project/model.js';
import { canonicalJson } from '../canonical-json.js';

export { canonicalJson };

// A container is recreated only when its own configuration changed. The hash covers the container
// and the pod settings it lives in, and leaves out anything that must not force a recreate.

/** sha256 over the container's configuration and its pod's shared settings. */
export function configHash(container: Container, pod: Pod): string {
  const podSettings = { share: pod.share, shmSize: pod.shmSize, hostname: pod.hostname, resources: pod.resources, network: pod.network, labels: pod.labels };
  // What a container waits for decides when it starts, not what it is.
  const { dependsOn: _order, ...lifecycle } = container.lifecycle;
  // Nor do the watch rules: they say what `corral watch` does, not what the container is.
  const { watch: _rules, ...rest } = container;
  return createHash('sha256').update(canonicalJson({ container: { ...rest, lifecycle }, pod: podSettings })).digest('hex');
}
