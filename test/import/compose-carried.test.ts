import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { ProjectError } from '../../src/project/errors.js';
import { parseProjectText } from '../../src/project/parse.js';
import { translateCompose } from '../../src/import/compose.js';
import { composeFixture, composeRefusal, containersOf, loadComposeFixture } from '../helpers/compose-fixtures.js';

// Compose keys carried over (not warned about): each fixture of test/fixtures/compose/ loaded to the
// model Corral would run, or refused at its line.

const carried = suite('compose keys carried over');
const fixture = composeFixture;
const loadFixture = loadComposeFixture;

/** The error loading the fixture throws, as `LINE:COL: what`. */
const refusal = async (name: string) => (await composeRefusal(name)).replace(/ \([^)]*\)$/s, '');

const containers = containersOf;

carried('init: true is catatonit as PID 1; false or unset is the command itself', async () => {
  const { project, warnings } = await loadFixture('init.compose.yml');
  assert.equal(Object.fromEntries(containers(project).map(([name, container]) => [name, container.initProcess ?? false])), { 'plain/plain': false, 'reaped/reaped': true, 'unset/unset': false }, 'initProcess only where init: true');
  assert.equal(warnings, [], 'init is carried, not warned about');
});

carried('deploy.replicas and scale: a pod per replica, depends_on on each, scale: 0 runs none', async () => {
  const { project, warnings } = await loadFixture('replicas.compose.yml');
  assert.equal(project.pods.map((pod) => pod.name), ['client', 'lister', 'single', 'web-1', 'web-2', 'web-3', 'worker-1', 'worker-2'], 'NAME-1..NAME-N, the plain name for one replica, none for scale: 0');
  const dependencies = Object.fromEntries(containers(project).map(([name, container]) => [name, container.lifecycle.dependsOn.map((dependency) => dependency.resource)]));
  assert.equal(dependencies['client/client'], ['web-1/web', 'web-2/web', 'web-3/web'], 'a dependency on a replicated service waits for every replica');
  assert.equal(dependencies['lister/lister'], ['worker-1/worker', 'worker-2/worker'], 'the list form too');
  assert.equal(project.volumes.map((volume) => volume.name), ['web-1-cache', 'web-2-cache', 'web-3-cache'], 'each replica has its anonymous volume of its own');
  assert.equal(warnings, ['19:7: services.client.depends_on.off: service off has scale 0: nothing runs to wait for, ignored'], 'a dependency on nothing running is named');
});

carried('replicas refused at their line: two counts that disagree, no count, a replicated service\'s network shared', async () => {
  assert.match(await refusal('replicas-disagree.compose.yml'), /^6:17: deploy\.replicas: 3 and scale: 2 disagree/, 'two counts');
  assert.match(await refusal('replicas-not-a-count.compose.yml'), /^4:12: scale: -1 is not a number of replicas from 0 to 1000/, 'a negative count');
  assert.match(await refusal('replicas-shared-network.compose.yml'), /^7:19: network_mode: service:web names a service of 2 replicas/, 'no one pod to share');
});

carried('devices: short and long forms become the host node, its path in the container and the cgroup permissions', async () => {
  const { project, warnings } = await loadFixture('devices.compose.yml');
  assert.equal(project.pods[0]!.containers[0]!.devices, [
    { hostPath: '/dev/null', containerPath: '/dev/null', permissions: 'rwm' },
    { hostPath: '/dev/zero', containerPath: '/dev/myzero', permissions: 'rwm' },
    { hostPath: '/dev/full', containerPath: '/dev/myfull', permissions: 'r' },
    { hostPath: '/dev/urandom', containerPath: '/dev/myrandom', permissions: 'rw' },
  ], 'each device, rwm unless written');
  assert.equal(warnings, [], 'devices are carried, not warned about');
  assert.match(await refusal('devices-cdi.compose.yml'), /^5:9: nvidia\.com\/gpu=all is a CDI device name/, 'a CDI name is refused at its line');
});

/** The compose fixture translated as on a host whose GPU nodes are `gpuNodes`. */
async function translatedOn(name: string, gpuNodes: string[]): Promise<string> {
  const source = parseProjectText(await readFile(fixture(name), 'utf8'), fixture(name));
  try {
    translateCompose(source, source.data as Record<string, unknown>, () => {}, { gpuNodes: () => gpuNodes });
  } catch (error) {
    if (!(error instanceof ProjectError)) throw error;
    return `${error.where.line}:${error.where.col}: ${error.message} (${error.hint})`;
  }
  throw new Error(`${name} was translated, but should have been refused`);
}

carried('gpus and GPU reservations are refused at their line, saying whether the host has a GPU', async () => {
  assert.match(await translatedOn('gpus.compose.yml', []), /^4:5: gpus: asks for a GPU, but this host has none/, 'gpus: on a host without a GPU');
  assert.match(await translatedOn('gpu-reservation.compose.yml', []), /^8:15: a device reservation with capabilities \[gpu\] asks for a GPU, but this host has none/, 'a reservation on a host without a GPU');
  const withGpu = await translatedOn('gpus.compose.yml', ['/dev/dri/renderD128']);
  assert.match(withGpu, /container toolkit \(CDI\); Corral does not.*devices: \["\/dev\/dri\/renderD128"\]/, 'on a host with a GPU: why not, and the device node to map instead');
});

carried('post_start and pre_stop: each hook with its command, user, privileges, directory and environment', async () => {
  const { project, warnings } = await loadFixture('hooks.compose.yml');
  const { lifecycle } = project.pods[0]!.containers[0]!;
  assert.equal(lifecycle.postStart, [{ argv: ['touch', '/tmp/started'], user: 'app', privileged: true, workdir: '/tmp', env: { GREETING: 'hello' } }], 'post_start');
  assert.equal(lifecycle.preStop, [{ argv: ['echo', 'bye'], privileged: false, env: {} }], 'pre_stop, a command as a string');
  assert.equal(warnings, [], 'hooks are carried, not warned about');
});

carried.run();
