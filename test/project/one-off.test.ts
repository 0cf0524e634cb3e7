import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ONE_OFF_LABEL, oneOffPod, type OneOffSettings, withOneOffPod } from '../../src/project/one-off.js';
import { baselineContainer, baselinePod, baselineProject } from '../helpers/fixtures.js';

// `corral run`'s pod from a pod's container definition: pure, a table of command lines and what the
// one-off container becomes.

const oneOff = suite('one-off pod of corral run');

const settings = (overrides: Partial<OneOffSettings> = {}): OneOffSettings => ({ name: 'web-run-0123456789ab', env: {}, mounts: [], ports: [], ...overrides });
const container = baselineContainer({ argv: ['sh', '-c', 'serve'], env: { A: '1', B: '2' }, lifecycle: { ...baselineContainer().lifecycle, restart: { name: 'always' } } });
const pod = baselinePod({ containers: [container], network: { ...baselinePod().network, ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } });
const image = { ref: 'busybox', pullPolicy: 'missing' as const, entrypoint: ['/entry'], command: ['serve'] };

const cases: { name: string; from?: typeof container; settings: OneOffSettings; check: (made: ReturnType<typeof oneOffPod>) => void }[] = [
  {
    name: 'no overrides: the container as defined, in a pod of its own, marked, never restarted, no published port',
    settings: settings(),
    check(made) {
      const [one] = made.containers;
      assert.is(made.name, 'web-run-0123456789ab', 'the pod is named as given');
      assert.is(made.hostname, 'web-run-0123456789ab', 'its default hostname follows its name');
      assert.equal(one!.argv, ['sh', '-c', 'serve'], 'the command is the definition\'s');
      assert.is(one!.pod, 'web-run-0123456789ab', 'the container belongs to the new pod');
      assert.is(one!.labels[ONE_OFF_LABEL], 'true', 'marked as a one-off');
      assert.equal(one!.lifecycle.restart, { name: 'no' }, 'never restarted');
      assert.equal(made.network.ports, [], 'the pod\'s ports are not published');
    },
  },
  {
    name: 'a command, -e, -u, -w, -p: over the definition',
    settings: settings({ command: ['env'], env: { B: '3' }, user: '1000', workdir: '/tmp', ports: [{ hostIp: '', hostPort: 9000, containerPort: 90, protocol: 'tcp' }] }),
    check(made) {
      const [one] = made.containers;
      assert.equal(one!.argv, ['env'], 'a rootfs container: the command replaces the argv');
      assert.equal(one!.env, { A: '1', B: '3' }, '-e over the definition\'s env');
      assert.is(one!.user, '1000');
      assert.is(one!.workdir, '/tmp');
      assert.equal(made.network.ports.map((port) => port.hostPort), [9000], 'only -p is published');
    },
  },
  {
    name: 'an image: the command and --entrypoint go where the file\'s would, for the image to fill in',
    from: { ...container, image },
    settings: settings({ command: ['x'], entrypoint: ['/other'] }),
    check(made) {
      assert.equal(made.containers[0]!.image?.entrypoint, ['/other']);
      assert.equal(made.containers[0]!.image?.command, ['x']);
    },
  },
  {
    name: '--entrypoint alone on a rootfs container: it is the whole argv',
    settings: settings({ entrypoint: ['/bin/true'] }),
    check(made) {
      assert.equal(made.containers[0]!.argv, ['/bin/true']);
    },
  },
  {
    name: '-v at a target the definition mounts already replaces that mount',
    from: { ...container, mounts: [{ type: 'bind', source: '/a', target: '/data', readOnly: false }, { type: 'bind', source: '/b', target: '/keep', readOnly: false }] },
    settings: settings({ mounts: [{ type: 'bind', source: '/c', target: '/data', readOnly: true }] }),
    check(made) {
      assert.equal(made.containers[0]!.mounts.map((mount) => `${mount.source}:${mount.target}`), ['/b:/keep', '/c:/data']);
    },
  },
];

for (const entry of cases) {
  oneOff(entry.name, () => entry.check(oneOffPod({ ...pod, containers: [entry.from ?? container] }, entry.from ?? container, entry.settings)));
}

oneOff('the project with the one-off pod keeps its pods sorted', () => {
  const project = baselineProject();
  const made = oneOffPod(project.pods[0]!, project.pods[0]!.containers[0]!, settings({ name: 'a-run-0123456789ab' }));
  assert.equal(withOneOffPod(project, made).pods.map((one) => one.name), ['a-run-0123456789ab', ...project.pods.map((one) => one.name)]);
});

oneOff.run();
