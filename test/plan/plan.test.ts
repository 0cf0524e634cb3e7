import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { computePlan, computeTeardown, createOnlyPlan, formatPlan, type PlanOptions } from '../../src/plan/plan.js';
import { createHash } from 'node:crypto';
import { canonicalJson, configHash } from '../../src/plan/hash.js';
import type { ObservedContainer, ObservedProject } from '../../src/runtime/observe.js';
import type { Container, Pod, Project } from '../../src/project/model.js';
import { baselineContainer, baselinePod, baselineProject } from '../helpers/fixtures.js';

// computePlan is pure: a baseline project, an observed state built from it, and a table of small
// mutations, each with the plan text it must produce.

const planning = suite('plan from desired and observed');

/** What the host looks like when the project is exactly applied. */
function observedFrom(project: Project): ObservedProject {
  const containers: ObservedContainer[] = project.pods.flatMap((pod) => pod.containers.map((container) => ({
    id: `${project.name}.${pod.name}.${container.name}`, pod: pod.name, name: container.name,
    status: 'running' as const, hash: configHash(container, pod), pid: 100,
  })));
  return { containers, pods: project.pods.map((pod) => pod.name) };
}

const applied = baselineProject();

/** The observation with one container (`app` or `sidecar`) changed. */
function observedWith(project: Project, name: string, change: Partial<ObservedContainer>): ObservedProject {
  const observed = observedFrom(project);
  return { ...observed, containers: observed.containers.map((container) => (container.name === name ? { ...container, ...change } : container)) };
}

const withApp = (overrides: Parameters<typeof baselineContainer>[0]) => baselineProject({ pods: [baselinePod({ containers: [baselineContainer(overrides), baselineContainer({ name: 'sidecar' })] })] });
const imageOf = (overrides: Partial<NonNullable<Container['image']>> = {}): NonNullable<Container['image']> => ({ ref: 'docker.io/library/busybox:1.36', pullPolicy: 'missing', id: 'sha256:aaa', layers: ['/layers/aaa'], ...overrides });

const scenarios: { name: string; desired: Project; observed: ObservedProject; options?: PlanOptions; plan: string }[] = [
  {
    name: 'nothing exists: the pod and both containers are created',
    desired: applied, observed: { containers: [], pods: [] },
    plan: 'create-pod web: new pod\ncreate web/app: new container\ncreate web/sidecar: new container',
  },
  {
    name: 'the container another joins is recreated: the joiner is recreated with it',
    desired: baselineProject({ pods: [baselinePod({ containers: [baselineContainer({ env: { A: '2' } }), baselineContainer({ name: 'sidecar', namespaces: { network: { kind: 'container', pod: 'web', container: 'app' }, ipc: { kind: 'pod' }, pid: { kind: 'none' } } })] })] }),
    observed: observedFrom(baselineProject({ pods: [baselinePod({ containers: [baselineContainer(), baselineContainer({ name: 'sidecar', namespaces: { network: { kind: 'container', pod: 'web', container: 'app' }, ipc: { kind: 'pod' }, pid: { kind: 'none' } } })] })] })),
    plan: 'recreate web/app: configuration changed\nrecreate web/sidecar: joins the network namespace of web/app, which gets a new one',
  },
  {
    name: 'a crash between create and start: started, not recreated',
    desired: applied,
    observed: { ...observedFrom(applied), containers: observedFrom(applied).containers.map((container) => (container.name === 'app' ? { ...container, status: 'created' as const } : container)) },
    plan: 'start web/app: created but never started\n1 container up to date',
  },
  {
    name: 'everything matches: up to date',
    desired: applied, observed: observedFrom(applied),
    plan: '2 containers up to date',
  },
  {
    name: 'one container\'s env changed: only it is recreated',
    desired: baselineProject({ pods: [baselinePod({ containers: [baselineContainer({ env: { A: '2' } }), baselineContainer({ name: 'sidecar' })] })] }),
    observed: observedFrom(applied),
    plan: 'recreate web/app: configuration changed\n1 container up to date',
  },
  {
    name: 'a pod setting changed: every container of the pod is recreated',
    desired: baselineProject({ pods: [baselinePod({ shmSize: 1024 })] }),
    observed: observedFrom(applied),
    plan: 'recreate web/app: configuration changed\nrecreate web/sidecar: configuration changed',
  },
  {
    name: 'a container left the pod: it is removed',
    desired: baselineProject({ pods: [baselinePod({ containers: [baselineContainer()] })] }),
    observed: observedFrom(applied),
    plan: 'remove web/sidecar: no longer in the pod\n1 container up to date',
  },
  {
    name: 'a pod left the file: its containers and sandbox are removed',
    desired: baselineProject({ pods: [] }),
    observed: observedFrom(applied),
    plan: 'remove web/app: pod no longer in the project file\nremove web/sidecar: pod no longer in the project file\nremove-pod web: no longer in the project file',
  },
  {
    name: 'an exited container is started again',
    desired: applied,
    observed: { ...observedFrom(applied), containers: observedFrom(applied).containers.map((container) => (container.name === 'app' ? { ...container, status: 'exited' as const, exitCode: 3 } : container)) },
    plan: 'start web/app: exited with code 3\n1 container up to date',
  },
  {
    name: 'a container whose conmon is gone: killed, then started again as the exited container it is',
    desired: applied, observed: observedWith(applied, 'app', { monitorLost: true }),
    plan: 'kill web/app: its monitor (conmon) is gone\nstart web/app: exited with code 137\n1 container up to date',
  },
  {
    name: 'a container whose conmon is gone and that left the pod: killed, then removed',
    desired: baselineProject({ pods: [baselinePod({ containers: [baselineContainer()] })] }), observed: observedWith(applied, 'sidecar', { monitorLost: true }),
    plan: 'kill web/sidecar: its monitor (conmon) is gone\nremove web/sidecar: no longer in the pod\n1 container up to date',
  },
  {
    name: 'a container whose conmon is gone in a pod out of scope: killed all the same, nothing more',
    desired: applied, observed: observedWith(applied, 'app', { monitorLost: true }), options: { only: new Set(['other']) },
    plan: 'kill web/app: its monitor (conmon) is gone',
  },
  {
    name: 'a stopped one-shot that exited 0: up forgets the stop and starts it again',
    desired: applied, observed: observedWith(applied, 'app', { status: 'exited', exitCode: 0, pid: undefined }), options: { stopped: new Set(['web/app']) },
    plan: 'forget-stopped web/app: up brings back what stop stopped\nstart web/app: exited with code 0\n1 container up to date',
  },
  {
    name: 'a stop in a pod out of scope is kept',
    desired: applied, observed: observedWith(applied, 'app', { status: 'exited', exitCode: 0, pid: undefined }), options: { stopped: new Set(['other/app']), only: new Set(['web']) },
    plan: '2 containers up to date',
  },
  {
    name: 'a one-shot that exited 0 and was not stopped is done: left alone',
    desired: applied, observed: observedWith(applied, 'app', { status: 'exited', exitCode: 0, pid: undefined }),
    plan: '2 containers up to date',
  },
  {
    name: 'an exited container whose root is no longer mounted: recreated, not started in place',
    desired: applied, observed: observedWith(applied, 'app', { status: 'exited', exitCode: 1, pid: undefined, rootfsGone: true }),
    plan: 'recreate web/app: its root file system is gone (a down stopped halfway)\n1 container up to date',
  },
  {
    name: 'a recreate asked for (a watch rule): recreated with the given cause',
    desired: applied, observed: observedFrom(applied), options: { recreate: new Map([['web/app', 'a watched file changed and its watch rule says recreate']]) },
    plan: 'recreate web/app: a watched file changed and its watch rule says recreate\n1 container up to date',
  },
  {
    name: 'a pod label changed: every container of the pod is recreated, and the cause says so',
    desired: baselineProject({ pods: [baselinePod({ labels: { team: 'b' } })] }), observed: observedFrom(applied), options: { applied },
    plan: 'recreate web/app: pod labels changed\nrecreate web/sidecar: pod labels changed',
  },
  {
    name: 'a container setting changed: the cause names it',
    desired: withApp({ env: { A: '2' }, workdir: '/srv' }), observed: observedFrom(applied), options: { applied },
    plan: 'recreate web/app: env, workdir changed\n1 container up to date',
  },
  {
    name: 'up --no-recreate: a changed container is left as it runs',
    desired: withApp({ env: { A: '2' } }), observed: observedFrom(applied), options: { applied, noRecreate: true },
    plan: '2 containers up to date',
  },
  {
    name: 'a one-off container of `run` and its pod are in no file: up leaves them, and removes a leftover that is no one-off',
    desired: applied,
    observed: {
      containers: [...observedFrom(applied).containers,
        { id: `${applied.name}.web-run-0123456789ab.app`, pod: 'web-run-0123456789ab', name: 'app', status: 'running', hash: 'h', pid: 200, oneOff: true },
        { id: `${applied.name}.old.app`, pod: 'old', name: 'app', status: 'exited', hash: 'h', exitCode: 0 }],
      pods: ['old', 'web', 'web-run-0123456789ab'],
    },
    plan: 'remove old/app: pod no longer in the project file\nremove-pod old: no longer in the project file\n2 containers up to date',
  },
];

for (const scenario of scenarios) {
  planning(scenario.name, () => {
    assert.is(formatPlan(computePlan(scenario.desired, scenario.observed, scenario.options)), scenario.plan, 'the plan as text');
  });
}

planning('create: what up would make is made, nothing started, forgotten or removed', () => {
  const observed: ObservedProject = {
    containers: [
      { id: `${applied.name}.web.app`, pod: 'web', name: 'app', status: 'exited', hash: configHash(applied.pods[0]!.containers[0]!, applied.pods[0]!), exitCode: 1 },
      { id: `${applied.name}.old.app`, pod: 'old', name: 'app', status: 'exited', hash: 'h', exitCode: 0 },
    ],
    pods: ['old', 'web'],
  };
  const plan = computePlan(applied, observed, { stopped: new Set(['web/app']) });
  assert.match(formatPlan(plan), /start web\/app/, 'up would start the exited one');
  assert.is(formatPlan(createOnlyPlan(plan)), 'create web/sidecar: new container', 'create only makes the missing one');
});

// What must never force a recreate (compose's hash leaves out build, pull_policy, scale): each case
// changes one such field only; the hash and the plan stay. The model has no profiles nor replicas.
const applyImage = withApp({ image: imageOf() });
const unchanged: { name: string; desired: Project }[] = [
  { name: 'the pull policy', desired: withApp({ image: imageOf({ pullPolicy: 'always' }) }) },
  { name: 'the build settings, once the image id is known', desired: withApp({ image: imageOf({ build: { context: '/src/app', dockerfile: 'Dockerfile.dev' } }) }) },
  { name: 'what it depends on', desired: withApp({ image: imageOf(), lifecycle: { ...baselineContainer().lifecycle, dependsOn: [{ resource: 'web/sidecar', condition: 'started' }] } }) },
  { name: 'its watch rules', desired: withApp({ image: imageOf(), watch: [{ path: '/src', action: 'sync', target: '/app', ignore: [], initialSync: false }] }) },
  { name: 'the name compose calls it (container_name, shown by ps)', desired: withApp({ image: imageOf(), containerName: 'my-app' }) },
];
for (const scenario of unchanged) {
  planning(`changing only ${scenario.name} recreates nothing`, () => {
    const before = applyImage.pods[0]!;
    const after = scenario.desired.pods[0]!;
    assert.is(configHash(after.containers[0]!, after), configHash(before.containers[0]!, before), 'the same hash');
    assert.is(formatPlan(computePlan(scenario.desired, observedFrom(applyImage), { applied: applyImage })), '2 containers up to date', 'the same plan');
  });
}

const changed: { name: string; desired: Project; plan: string }[] = [
  { name: 'the image id', desired: withApp({ image: imageOf({ id: 'sha256:bbb' }) }), plan: 'recreate web/app: image changed\n1 container up to date' },
  { name: 'the image reference', desired: withApp({ image: imageOf({ ref: 'docker.io/library/busybox:1.37' }) }), plan: 'recreate web/app: image changed\n1 container up to date' },
  { name: 'the build settings of an image not built yet', desired: withApp({ image: imageOf({ id: undefined, build: { context: '/src/app', dockerfile: 'Dockerfile' } }) }), plan: 'recreate web/app: image changed\n1 container up to date' },
  { name: 'the restart policy', desired: withApp({ image: imageOf(), lifecycle: { ...baselineContainer().lifecycle, restart: { name: 'always' } } }), plan: 'recreate web/app: restart changed\n1 container up to date' },
];
for (const scenario of changed) {
  planning(`changing ${scenario.name} recreates the container`, () => {
    const before = applyImage.pods[0]!;
    const after = scenario.desired.pods[0]!;
    assert.is.not(configHash(after.containers[0]!, after), configHash(before.containers[0]!, before), 'another hash');
    assert.is(formatPlan(computePlan(scenario.desired, observedFrom(applyImage), { applied: applyImage })), scenario.plan, 'the plan');
  });
}

planning('a container made before pull policies were left out keeps its hash: the default policy hashes as it did', () => {
  const container = baselineContainer({ image: imageOf() });
  const { watch: _rules, ...rest } = container;
  const { dependsOn: _order, ...lifecycle } = container.lifecycle;
  const pod = baselinePod();
  // Made before named networks too: a pod on the default network alone hashes without its networks.
  const { networks: _onlyDefault, ...network } = pod.network;
  const podSettings = { share: pod.share, shmSize: pod.shmSize, hostname: pod.hostname, resources: pod.resources, network, labels: pod.labels };
  const before = createHash('sha256').update(canonicalJson({ container: { ...rest, lifecycle }, pod: podSettings })).digest('hex');
  assert.is(configHash(container, pod), before, 'the hash of the previous rule');
});

planning('a pod put on other networks, or given an alias, recreates its containers', () => {
  const container = baselineContainer();
  const pod = baselinePod();
  const onNetworks = (networks: Pod['network']['networks']) => baselinePod({ network: { ...pod.network, networks } });
  assert.is.not(configHash(container, onNetworks([{ name: 'front', aliases: [] }])), configHash(container, pod), 'another network');
  assert.is.not(configHash(container, onNetworks([{ name: 'default', aliases: ['www'] }])), configHash(container, pod), 'an alias');
});

planning('teardown removes every container, then every pod', () => {
  assert.is(formatPlan(computeTeardown(observedFrom(applied))), 'remove web/app: project down\nremove web/sidecar: project down\nremove-pod web: project down', 'the teardown plan');
});

planning('the config hash ignores key order and changes with any value', () => {
  const pod = baselinePod();
  const one = configHash(baselineContainer({ env: { A: '1', B: '2' } }), pod);
  const other = configHash(baselineContainer({ env: { B: '2', A: '1' } }), pod);
  assert.is(one, other, 'key order does not matter');
  assert.is.not(configHash(baselineContainer({ workdir: '/srv' }), pod), configHash(baselineContainer(), pod), 'a changed workdir changes the hash');
});

planning.run();
