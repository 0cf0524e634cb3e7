import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { computePlan, computeTeardown, formatPlan } from '../../src/plan/plan.js';
import { configHash } from '../../src/plan/hash.js';
import type { ObservedContainer, ObservedProject } from '../../src/runtime/observe.js';
import type { Project } from '../../src/project/model.js';
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

const scenarios: { name: string; desired: Project; observed: ObservedProject; plan: string }[] = [
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
];

for (const scenario of scenarios) {
  planning(scenario.name, () => {
    assert.is(formatPlan(computePlan(scenario.desired, scenario.observed)), scenario.plan, 'the plan as text');
  });
}

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
