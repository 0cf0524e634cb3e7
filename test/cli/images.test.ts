import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { cp, open, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';
import { buildBusyboxImage, firstLayerDigest, type BuiltImage } from '../helpers/oci-image.js';

// Images with real containers: an image built by the test from the busybox rootfs is pushed to a
// registry the test runs on 127.0.0.1 (Debian's docker-registry), pulled by `corral up`, and run;
// its config takes effect unless the file overrides it; two containers share its layers and keep
// their writes private; archives load; a corrupt blob is refused and nothing of it is stored.

interface Context { sandbox: Sandbox; project: string; image: BuiltImage; registry?: ResultPromise; port: number; file: string }
const images = suite<Context>('images: registry, archives, config, shared layers');

async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function inside(context: Context, id: string, script: string) {
  return execa('runc', ['--root', path.join(context.sandbox.run, context.project, 'runc'), 'exec', `${context.project}.${id}`, 'sh', '-c', script], { reject: false, timeout: 20_000 });
}

const logsOf = async (context: Context, resource: string) => (await corral(context.sandbox, ['-p', context.project, 'logs', resource])).stdout;

images.before(async (context) => {
  context.sandbox = await createSandbox('images');
  context.project = context.sandbox.projectName('images');
  context.file = path.join(context.sandbox.work, 'corral.yaml');
  context.image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ["echo from-image-$GREETING; cat /etc/motd; pwd; id -u; ls /data; test -e /junk.txt || echo junk-gone; trap 'exit 0' TERM; while true; do sleep 0.2; done"],
    Env: ['GREETING=hi', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    WorkingDir: '/data',
    User: '1000',
    Healthcheck: { Test: ['CMD-SHELL', 'test -f /etc/motd'], Interval: 200_000_000, Retries: 2 },
  });
  context.port = await freePort();
  const storage = path.join(context.sandbox.work, 'registry');
  const config = path.join(context.sandbox.work, 'registry.yml');
  await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: 127.0.0.1:${context.port}\n`);
  context.registry = execa('docker-registry', ['serve', config], { reject: false });
  await eventually(async () => ((await fetch(`http://127.0.0.1:${context.port}/v2/`).catch(() => undefined))?.ok ? true : undefined), 'the registry to answer');
  const push = await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${context.image.layout}:${context.image.tag}`, `docker://127.0.0.1:${context.port}/test/busy:v1`], { reject: false });
  assert.is(push.exitCode, 0, `push fails: ${push.stderr}`);
});

images.after(async (context) => {
  context.registry?.kill('SIGTERM');
  await context.registry;
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

images('up pulls the image from the registry and runs it with its config', async (context) => {
  const ref = `127.0.0.1:${context.port}/test/busy:v1`;
  await writeFile(context.file, `
pods:
  img:
    containers:
      plain:
        image: ${ref}
      custom:
        image: ${ref}
        command: ["echo custom-$$GREETING-$$EXTRA; id -u; pwd; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { GREETING: overridden, EXTRA: added }
        user: "0"
        working_dir: /tmp
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '--wait', '--tls-verify', 'false']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /✔ img\/plain\s+healthy/, 'the image\'s HEALTHCHECK is probed');
  assert.match(up.stdout, new RegExp(`✔ ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+pulled`));
  const plain = await eventually(async () => {
    const text = await logsOf(context, 'img/plain');
    return text.includes('junk-gone') ? text : undefined;
  }, 'the image\'s own command to run');
  assert.equal(plain.trim().split('\n'), ['from-image-hi', 'image-layer-2', '/data', '1000', 'new.txt', 'junk-gone'], 'entrypoint, cmd, env, workdir, user and both kinds of whiteout');
  const custom = await eventually(async () => {
    const text = await logsOf(context, 'img/custom');
    return text.includes('custom-') ? text : undefined;
  }, 'the overriding command to run');
  assert.equal(custom.trim().split('\n'), ['custom-overridden-added', '0', '/tmp'], 'command, env, user and working_dir from the file win');
});

images('two containers of one image share its layers and keep their writes private', async (context) => {
  const inode = async (id: string) => (await inside(context, id, 'stat -c %i /bin/busybox')).stdout.trim();
  const [first, second] = [await inode('img.plain'), await inode('img.custom')];
  assert.ok(first.length > 0);
  assert.is(first, second, 'the same file of the same lower layer');
  await inside(context, 'img.custom', 'echo private > /etc/only-in-custom');
  assert.is((await inside(context, 'img.plain', 'test -e /etc/only-in-custom && echo seen || echo unseen')).stdout.trim(), 'unseen');
});

images('docker-archive and oci-archive tarballs load and run', async (context) => {
  const dockerArchive = path.join(context.sandbox.work, 'busy-docker.tar');
  const ociArchive = path.join(context.sandbox.work, 'busy-oci.tar');
  for (const target of [`docker-archive:${dockerArchive}:test/busy:v1`, `oci-archive:${ociArchive}:v1`]) {
    const save = await execa('skopeo', ['copy', '--quiet', `oci:${context.image.layout}:${context.image.tag}`, target], { reject: false });
    assert.is(save.exitCode, 0, save.stderr);
  }
  await writeFile(context.file, `
pods:
  archives:
    containers:
      fromdocker: { image: "docker-archive:${dockerArchive}" }
      fromoci: { image: "oci-archive:${ociArchive}" }
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  for (const resource of ['archives/fromdocker', 'archives/fromoci']) {
    await eventually(async () => ((await logsOf(context, resource)).includes('from-image-hi') ? true : undefined), `${resource} to run`);
  }
});

images('a corrupt blob is refused with a clear error and nothing of it is stored', async (context) => {
  const corrupt = path.join(context.sandbox.work, 'corrupt');
  await cp(context.image.layout, corrupt, { recursive: true });
  const digest = await firstLayerDigest(corrupt);
  const handle = await open(path.join(corrupt, 'blobs/sha256', digest.slice(7)), 'r+');
  await handle.write(Buffer.from('corrupted!'), 0, 10, 4096);
  await handle.close();
  const file = path.join(context.sandbox.work, 'corrupt.yaml');
  const project = context.sandbox.projectName('corrupt');
  await writeFile(file, `pods:\n  bad:\n    containers:\n      x: { image: "oci:${corrupt}:v1", pull_policy: always }\n`);
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 2);
  assert.match(up.stderr, /corrupt|digest/i, up.stderr);
  const blobs = path.join(context.sandbox.state, 'images/blobs/sha256');
  assert.not.ok(existsSync(path.join(blobs, digest.slice(7))), 'the corrupt blob is not in the store');
  const partial = await execa('sh', ['-c', `find ${path.join(context.sandbox.state, 'images')} -name '*.partial' | wc -l`]);
  assert.is(partial.stdout.trim(), '0', 'no half-written blob or layer is left to be trusted later');
  await corral(context.sandbox, ['-p', project, 'down']);
});

images('build: builds a Dockerfile with buildah and runs the result', async (context) => {
  const buildContext = path.join(context.sandbox.work, 'app');
  await cp(context.sandbox.env.CORRAL_ROOTFS!, path.join(buildContext, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  await writeFile(path.join(buildContext, 'Dockerfile'), [
    'FROM scratch', 'COPY rootfs/ /', 'RUN echo built-by-buildah > /etc/built', 'ENV BUILT=yes',
    'CMD ["sh", "-c", "cat /etc/built; echo built=$BUILT; trap \'exit 0\' TERM; while true; do sleep 0.2; done"]', '',
  ].join('\n'));
  const file = path.join(context.sandbox.work, 'build.yaml');
  const project = context.sandbox.projectName('build');
  await writeFile(file, 'pods:\n  app:\n    containers:\n      main: { build: ./app }\n');
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d'], { timeoutMs: 300_000 });
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /built \(/);
  const logs = await eventually(async () => {
    const text = (await corral(context.sandbox, ['-p', project, 'logs', 'app/main'])).stdout;
    return text.includes('built=yes') ? text : undefined;
  }, 'the built image to run');
  assert.equal(logs.trim().split('\n'), ['built-by-buildah', 'built=yes'], 'the RUN step and the ENV of the Dockerfile');
  const again = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.not.match(again.stdout, /built \(/, 'not built again without --build');
  assert.match(again.stdout, /1 container up to date/);
  await corral(context.sandbox, ['-p', project, 'down']);
});

images('images lists the store with shared sizes; image rm refuses a used image; prune frees the rest', async (context) => {
  const listed = JSON.parse((await corral(context.sandbox, ['images', '--format', 'json'])).stdout) as { ref: string; size: number; sharedSize: number }[];
  const ref = `127.0.0.1:${context.port}/test/busy:v1`;
  assert.ok(listed.some((row) => row.ref === ref && row.size > 0), 'the pulled image is listed with its size');
  assert.ok(listed.some((row) => row.ref.startsWith('oci-archive:') && row.sharedSize > 0), 'the archives share layers');
  const refused = await corral(context.sandbox, ['image', 'rm', `oci-archive:${path.join(context.sandbox.work, 'busy-oci.tar')}`]);
  assert.is(refused.exitCode, 2);
  assert.match(refused.stderr, /is used by .*archives\/fromoci/);
  const down = await corral(context.sandbox, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, down.stderr);
  const removed = await corral(context.sandbox, ['image', 'rm', ref]);
  assert.is(removed.exitCode, 0, removed.stderr);
  const pruned = await corral(context.sandbox, ['image', 'prune', '--all']);
  assert.is(pruned.exitCode, 0, pruned.stderr);
  assert.match(pruned.stdout, /layer sha256-/, 'unused layers are removed');
  const left = JSON.parse((await corral(context.sandbox, ['images', '--format', 'json'])).stdout) as unknown[];
  assert.equal(left, [], 'nothing is used any more, so nothing is kept');
});

images.run();
