import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { anonymousVolumeName, applyImageConfig, healthcheckOfImage, type ImageConfig } from '../../src/images/config.js';
import { mountedLayerDirs } from '../../src/images/usage.js';
import { imageStore } from '../../src/images/store.js';
import { configHash } from '../../src/plan/hash.js';
import type { Container } from '../../src/project/model.js';
import { load } from '../helpers/load.js';

// The image config under the file's overrides, as compose does it: one image, a table of project
// files, each with what the container must end up with. Loaded by the real loader, nothing on disk.

const merging = suite('image config merged with the project file');

const IMAGE: ImageConfig = {
  Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/bin', 'MODE=image'], WorkingDir: '/app', User: 'app',
  ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Volumes: { '/data': {}, '/cache/': {} }, StopSignal: 'SIGQUIT',
  Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 5e9, Retries: 2 },
};

async function containerFor(lines: string[]): Promise<Container> {
  const project = await load(['pods:', '  web:', '    containers:', '      app:', '        image: registry.test/app:1', ...lines.map((line) => `        ${line}`)].join('\n'));
  return applyImageConfig(project.pods[0]!.containers[0]!, { id: 'sha256:abc', layers: ['/store/l1', '/store/l2'], config: IMAGE });
}

const scenarios: { name: string; file: string[]; expect: (container: Container) => void }[] = [
  {
    name: 'nothing overridden: all from the image', file: [],
    expect: (container) => {
      assert.equal(container.argv, ['/entry', 'serve', '--port', '80']);
      assert.equal(container.env, { PATH: '/bin', MODE: 'image' });
      assert.is(container.workdir, '/app');
      assert.is(container.user, 'app');
      assert.is(container.lifecycle.stopSignal, 'QUIT');
      assert.equal(container.lifecycle.healthcheck, { probe: { kind: 'exec', argv: ['/bin/sh', '-c', 'wget -q localhost'] }, intervalMs: 5000, timeoutMs: 30_000, retries: 2, startPeriodMs: 0, startIntervalMs: 5000 });
      assert.equal(container.mounts.map((mount) => [mount.target, mount.type, mount.anonymous, mount.volume]), [
        ['/cache', 'named', true, anonymousVolumeName(container, '/cache')], ['/data', 'named', true, anonymousVolumeName(container, '/data')],
      ]);
      assert.equal(container.image?.exposedPorts, ['53/udp', '80/tcp']);
      assert.equal(container.image?.layers, ['/store/l1', '/store/l2']);
    },
  },
  {
    name: 'command replaces Cmd, keeps Entrypoint', file: ['command: ["check"]'],
    expect: (container) => assert.equal(container.argv, ['/entry', 'check']),
  },
  {
    name: 'entrypoint replaces Entrypoint and drops Cmd', file: ['entrypoint: /bin/sh'],
    expect: (container) => assert.equal(container.argv, ['/bin/sh']),
  },
  {
    name: 'entrypoint and command both from the file', file: ['entrypoint: ["/bin/sh", "-c"]', 'command: ["echo hi"]'],
    expect: (container) => assert.equal(container.argv, ['/bin/sh', '-c', 'echo hi']),
  },
  {
    name: 'env, working_dir and user from the file win', file: ['env: { MODE: file, EXTRA: "1" }', 'working_dir: /srv', 'user: "0"'],
    expect: (container) => {
      assert.equal(container.env, { PATH: '/bin', MODE: 'file', EXTRA: '1' });
      assert.is(container.workdir, '/srv');
      assert.is(container.user, '0');
    },
  },
  {
    name: 'stop_signal and healthcheck from the file win, also when it disables the check', file: ['stop_signal: SIGINT', 'healthcheck: { disable: true }'],
    expect: (container) => {
      assert.is(container.lifecycle.stopSignal, 'INT');
      assert.is(container.lifecycle.healthcheck, undefined);
    },
  },
  {
    name: 'a mount of the file on a VOLUME path replaces its anonymous volume', file: ['volumes: [{ type: tmpfs, target: /data }]'],
    expect: (container) => assert.equal(container.mounts.map((mount) => [mount.target, mount.type]), [['/data', 'tmpfs'], ['/cache', 'named']]),
  },
];

for (const scenario of scenarios) merging(scenario.name, async () => scenario.expect(await containerFor(scenario.file)));

merging('a new image id changes the config hash, so the container is recreated', async () => {
  const project = await load(['pods:', '  web:', '    containers:', '      app:', '        image: registry.test/app:1'].join('\n'));
  const pod = project.pods[0]!;
  const [first, second] = ['sha256:one', 'sha256:two'].map((id) => applyImageConfig(pod.containers[0]!, { id, layers: ['/store/l1'], config: IMAGE }));
  assert.is.not(configHash(first!, pod), configHash(second!, pod));
});

merging('an image without Entrypoint or Cmd needs a command in the file', async () => {
  const project = await load(['pods:', '  web:', '    containers:', '      app:', '        image: registry.test/app:1'].join('\n'));
  assert.throws(() => applyImageConfig(project.pods[0]!.containers[0]!, { id: 'sha256:x', layers: [], config: {} }), /has no Entrypoint or Cmd; add command:/);
});

merging('docker healthchecks: NONE and an empty test mean none; CMD runs without a shell', () => {
  assert.is(healthcheckOfImage({ Test: ['NONE'] }), undefined);
  assert.is(healthcheckOfImage({ Test: [] }), undefined);
  assert.equal(healthcheckOfImage({ Test: ['CMD', 'true'] })?.probe, { kind: 'exec', argv: ['true'] });
});

merging('layers in use are read from overlay lower dirs in the mount table', () => {
  const store = imageStore('/var/lib/corral');
  const mountinfo = [
    '120 30 0:50 / /run/corral/p/containers/p.web.app/rootfs rw,relatime - overlay overlay rw,lowerdir=/var/lib/corral/images/layers/sha256-bb:/var/lib/corral/images/layers/sha256-aa,upperdir=/u,workdir=/w',
    '121 30 0:51 / /run/corral/q/containers/q.web.app/rootfs rw,relatime - overlay overlay rw,lowerdir=/rootfs/busybox,upperdir=/u2,workdir=/w2',
    '122 30 0:52 / /tmp rw - tmpfs tmpfs rw',
  ].join('\n');
  return mountedLayerDirs(store, mountinfo).then((dirs) => assert.equal([...dirs].sort(), ['/var/lib/corral/images/layers/sha256-aa', '/var/lib/corral/images/layers/sha256-bb']));
});

merging.run();
