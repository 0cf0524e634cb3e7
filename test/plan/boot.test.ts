import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ALWAYS_COMES_BACK, bootProject, broughtBack, computeBootSelection, formatBootSelection } from '../../src/plan/boot.js';
import { computePlan, formatPlan } from '../../src/plan/plan.js';
import { configHash } from '../../src/plan/hash.js';
import type { Container, Pod, Project, RestartPolicy } from '../../src/project/model.js';
import { baselineContainer, baselinePod, baselineProject } from '../helpers/fixtures.js';

// What comes back at boot is decided from the applied project and the stopped set alone: a table of
// restart policies and stops, each with the selection text and the plan it makes after a reboot
// (nothing observed).

const selecting = suite('boot: what comes back after a reboot');

const container = (name: string, restart: RestartPolicy['name'], overrides: Partial<Container> = {}) => baselineContainer({ name, pod: name, lifecycle: { ...baselineContainer().lifecycle, restart: { name: restart } }, ...overrides });
const pod = (member: Container): Pod => baselinePod({ name: member.pod, hostname: member.pod, containers: [member] });

/** One pod per restart policy, as the reboot suites use: always, unless-stopped twice, no, on-failure. */
const applied: Project = baselineProject({
  pods: [
    pod(container('keep', 'always')),
    pod(container('cache', 'unless-stopped')),
    pod(container('paused', 'unless-stopped')),
    pod(container('job', 'no')),
    pod(container('retry', 'on-failure')),
  ].sort((a, b) => (a.name < b.name ? -1 : 1)),
});
const nothingRuns = { containers: [], pods: [] };

const scenarios: { name: string; project: Project; stopped: string[]; selection: string; plan: string }[] = [
  {
    name: 'always and unless-stopped come back; stopped unless-stopped, no and on-failure stay down',
    project: applied, stopped: ['paused/paused'],
    selection: [
      'bring back cache/cache: restart: unless-stopped',
      'leave job/job down: restart: no',
      'bring back keep/keep: restart: always',
      'leave paused/paused down: restart: unless-stopped, stopped by `corral stop`',
      'leave retry/retry down: restart: on-failure',
    ].join('\n'),
    // The stopped one stays in the stopped set: no forget-stopped.
    plan: 'create-pod cache: new pod\ncreate-pod keep: new pod\ncreate cache/cache: new container\ncreate keep/keep: new container',
  },
  {
    name: 'always comes back although stopped, as Docker\'s daemon starts it, and leaves the stopped set',
    project: applied, stopped: ['keep/keep', 'paused/paused'],
    selection: [
      'bring back cache/cache: restart: unless-stopped',
      'leave job/job down: restart: no',
      'bring back keep/keep: restart: always, although stopped by `corral stop`',
      'leave paused/paused down: restart: unless-stopped, stopped by `corral stop`',
      'leave retry/retry down: restart: on-failure',
    ].join('\n'),
    plan: `forget-stopped keep/keep: ${ALWAYS_COMES_BACK}\ncreate-pod cache: new pod\ncreate-pod keep: new pod\ncreate cache/cache: new container\ncreate keep/keep: new container`,
  },
  {
    name: 'a pod of an always and a no container: the pod is made, only the always container',
    project: baselineProject({ pods: [baselinePod({ containers: [container('app', 'always', { pod: 'web' }), container('sidecar', 'no', { pod: 'web' })] })] }),
    stopped: [],
    selection: 'bring back web/app: restart: always\nleave web/sidecar down: restart: no',
    plan: 'create-pod web: new pod\ncreate web/app: new container',
  },
  {
    name: 'nothing has a restart policy: nothing comes back, not even a pod',
    project: baselineProject(), stopped: [],
    selection: 'leave web/app down: restart: no\nleave web/sidecar down: restart: no',
    plan: '',
  },
];

for (const scenario of scenarios) {
  selecting(scenario.name, () => {
    const stopped = new Set(scenario.stopped);
    const selection = computeBootSelection(scenario.project, stopped);
    assert.is(formatBootSelection(selection), scenario.selection, 'the selection, as `corral boot --dry-run` prints it');
    const plan = computePlan(bootProject(scenario.project, selection), nothingRuns, { stopped, containers: broughtBack(selection), forgetStoppedCause: ALWAYS_COMES_BACK });
    assert.is(formatPlan(plan), scenario.plan, 'the plan after a reboot');
  });
}

selecting('containers left down are neither made nor removed when they exist, and running ones are up to date', () => {
  const hashOf = (name: string) => configHash(applied.pods.find((candidate) => candidate.name === name)!.containers[0]!, applied.pods.find((candidate) => candidate.name === name)!);
  const observed = {
    pods: ['job', 'keep'],
    containers: [
      { id: 'demo.keep.keep', pod: 'keep', name: 'keep', status: 'running' as const, hash: hashOf('keep'), pid: 10 },
      { id: 'demo.job.job', pod: 'job', name: 'job', status: 'exited' as const, hash: hashOf('job'), exitCode: 1 },
    ],
  };
  const selection = computeBootSelection(applied, new Set());
  const plan = computePlan(bootProject(applied, selection), observed, { containers: broughtBack(selection) });
  assert.is(formatPlan(plan), 'create-pod cache: new pod\ncreate-pod paused: new pod\ncreate cache/cache: new container\ncreate paused/paused: new container\n1 container up to date', 'job/job (restart no) stays exited, keep/keep runs on');
});

selecting('a dependency on a container that stays down is dropped; one on a container that comes back is kept', () => {
  const server = container('server', 'always', {
    pod: 'web',
    lifecycle: { ...baselineContainer().lifecycle, restart: { name: 'always' }, dependsOn: [{ resource: 'web/cache', condition: 'started' }, { resource: 'web/migrate', condition: 'completed' }] },
  });
  const project = baselineProject({ pods: [baselinePod({ containers: [container('cache', 'unless-stopped', { pod: 'web' }), container('migrate', 'no', { pod: 'web' }), server] })] });
  const booted = bootProject(project, computeBootSelection(project, new Set()));
  const dependencies = booted.pods[0]!.containers.find((candidate) => candidate.name === 'server')!.lifecycle.dependsOn;
  assert.equal(dependencies, [{ resource: 'web/cache', condition: 'started' }], 'the one-shot migration, left down at boot, is not waited for');
  assert.is(configHash(booted.pods[0]!.containers[2]!, booted.pods[0]!), configHash(server, project.pods[0]!), 'the hash does not cover depends_on: the next up keeps the container');
});

selecting.run();
