import type { Container, Pod, Project } from '../../src/project/model.js';

// One baseline project for the unit tests of pure stages; scenarios copy it and mutate a little.

export function baselineContainer(overrides: Partial<Container> = {}): Container {
  return {
    name: 'app', pod: 'web', rootfs: '/rootfs', argv: ['sleep', '3600'], env: { A: '1' },
    workdir: '/', user: '0:0', mounts: [], resources: {},
    security: { privileged: false, capAdd: [], capDrop: [], readOnlyRootfs: false, noNewPrivileges: true, seccomp: 'default', sysctls: {}, ulimits: {} },
    lifecycle: { restart: { name: 'no' }, stopSignal: 'TERM', stopGraceMs: 10_000, dependsOn: [] },
    labels: {}, namespaces: { network: { kind: 'pod' }, ipc: { kind: 'pod' }, pid: { kind: 'none' } }, files: [],
    ...overrides,
  };
}

export function baselinePod(overrides: Partial<Pod> = {}): Pod {
  return {
    name: 'web', share: ['net', 'ipc', 'uts'], shmSize: 64 * 1024 * 1024, hostname: 'web', resources: {},
    network: { mode: 'bridge', ports: [], dns: [], dnsSearch: [], extraHosts: [], networks: [{ name: 'default', aliases: [] }] }, labels: {},
    containers: [baselineContainer(), baselineContainer({ name: 'sidecar' })], ...overrides,
  };
}

export function baselineProject(overrides: Partial<Project> = {}): Project {
  return { name: 'demo', file: '/demo/corral.yaml', dir: '/demo', pods: [baselinePod()], volumes: [], networks: [{ name: 'default', internal: false }], sources: ['/demo/corral.yaml'], ...overrides };
}
