// The workloads of the benchmark: N pods of one sleeping busybox container each, written once as a
// Corral project file and once as the equivalent Kubernetes manifest for `podman kube play`. The
// container stops on SIGTERM (a bare `sleep` as PID 1 ignores it and every tool would wait out its
// grace period), the same command for Corral, podman and the floor.

export const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
const sleeperYaml = JSON.stringify(SLEEPER);

export interface Workload {
  readonly pods: number;
  readonly containersPerPod?: number;
  /** Extra env for one container, to measure a one-container change. */
  readonly changed?: string;
  /** A host dir where that container writes its CHANGED value at start (`started`): when it runs, seen from outside. */
  readonly startMarkerDir?: string;
  /** `none` (the default): each pod in a network namespace of its own with loopback only, as the floor
   * makes them; `bridge`: on the project network, to show what CNI costs; `two`: every pod on two
   * networks of the project (`front` and `back`), as a compose app with a frontend and a backend. */
  readonly network?: 'none' | 'bridge' | 'two';
}

/** The command of the changed container with a start marker: says it runs, then sleeps like the others. */
const markingSleeper = ['sh', '-c', 'echo "$$CHANGED" > /out/started; trap "exit 0" TERM; sleep 3600 & wait'];

/** A Corral project file for the workload. */
export function corralProject(workload: Workload, rootfs: string): string {
  const two = workload.network === 'two';
  const lines = [...(two ? ['networks: { front: {}, back: {} }'] : []), 'pods:'];
  for (let pod = 1; pod <= workload.pods; pod++) {
    lines.push(`  p${pod}:`, `    network: ${two ? 'bridge' : workload.network ?? 'none'}`, ...(two ? ['    networks: [front, back]'] : []), '    containers:');
    for (let container = 1; container <= (workload.containersPerPod ?? 1); container++) {
      const changed = pod === 1 && container === 1 && workload.changed;
      const marking = changed && workload.startMarkerDir;
      lines.push(`      c${container}:`, `        rootfs: ${rootfs}`, `        command: ${marking ? JSON.stringify(markingSleeper) : sleeperYaml}`);
      if (changed) lines.push(`        env: { CHANGED: "${workload.changed}" }`);
      if (marking) lines.push(`        volumes: ["${workload.startMarkerDir}:/out"]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Kubernetes Pods with the same containers, for `podman kube play`. */
export function kubernetesManifest(workload: Workload, image: string): string {
  const documents: string[] = [];
  for (let pod = 1; pod <= workload.pods; pod++) {
    documents.push([
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: p${pod}`,
      'spec:',
      '  restartPolicy: Never',
      '  containers:',
      '  - name: c1',
      `    image: ${image}`,
      `    command: ${sleeperYaml}`,
    ].join('\n'));
  }
  return `${documents.join('\n---\n')}\n`;
}
