import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { cp, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliEntry, corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, freePort, inside, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { buildBusyboxImage, firstLayerDigest, type BuiltImage } from '../helpers/oci-image.js';

// Images with real containers: an image built by the test from the busybox rootfs is pushed to a
// registry the test runs on 127.0.0.1 (Debian's docker-registry), pulled by `corral up`, and run;
// its config takes effect unless the file overrides it; two containers share its layers and keep
// their writes private; archives load; a corrupt blob is refused and nothing of it is stored.

interface Context { sandbox: Sandbox; project: string; image: BuiltImage; registry?: ResultPromise; port: number; file: string }
const images = suite<Context>('images: registry, archives, config, shared layers');

const logsOf = async (context: Context, resource: string) => (await corral(context.sandbox, ['-p', context.project, 'logs', resource])).stdout;

images.before(async (context) => {
  Object.assign(context, await createProjectSandbox('images'));
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
  const inode = async (id: string) => (await inside(context.sandbox, context.project, id, 'stat -c %i /bin/busybox')).stdout.trim();
  const [first, second] = [await inode('img.plain'), await inode('img.custom')];
  assert.ok(first.length > 0);
  assert.is(first, second, 'the same file of the same lower layer');
  await inside(context.sandbox, context.project, 'img.custom', 'echo private > /etc/only-in-custom');
  assert.is((await inside(context.sandbox, context.project, 'img.plain', 'test -e /etc/only-in-custom && echo seen || echo unseen')).stdout.trim(), 'unseen');
});

images('docker-archive and oci-archive tarballs load and run', async (context) => {
  const dockerArchive = path.join(context.sandbox.work, 'busy-docker.tar');
  const ociArchive = path.join(context.sandbox.work, 'busy-oci.tar');
  // Both archives keep the layers as they are (uncompressed), so they are the same blobs.
  for (const target of [`docker-archive:${dockerArchive}:test/busy:v1`, `oci-archive:${ociArchive}:v1`]) {
    const save = await execa('skopeo', ['copy', '--quiet', '--dest-oci-accept-uncompressed-layers', `oci:${context.image.layout}:${context.image.tag}`, target], { reject: false });
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
  // An image of its own: the store already has the genuine blobs of the other one, and would rightly
  // never read a copy of them again.
  const { layout: corrupt } = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, path.join(context.sandbox.work, 'corrupt'), { Cmd: ['true'] });
  const digest = await firstLayerDigest(corrupt);
  assert.not.ok(existsSync(path.join(context.sandbox.state, 'images/blobs/sha256', digest.slice(7))), 'a layer the store does not have yet');
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
  // pull_policy: build is `up --build` for this image: built again by every up.
  await writeFile(file, 'pods:\n  app:\n    containers:\n      main: { build: ./app, pull_policy: build }\n');
  for (const attempt of ['first', 'second']) {
    const rebuilt = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d'], { timeoutMs: 300_000 });
    assert.is(rebuilt.exitCode, 0, `${rebuilt.stdout}\n${rebuilt.stderr}`);
    assert.match(rebuilt.stdout, /built \(/, `pull_policy: build builds on the ${attempt} up too`);
  }
  const built = [...(await imageRows(context)).values()].find((row) => row.containers.some((user) => user.startsWith(`${project}/`)));
  assert.ok(built, 'the built image is in the store, used by the project');
  const down = await corral(context.sandbox, ['-p', project, 'down', '--rmi', 'local']);
  assert.is(down.exitCode, 0, down.stderr);
  assert.match(down.stdout, `✔ image ${built.ref}  removed`);
  assert.not.ok([...(await imageRows(context)).values()].some((row) => row.ref === built.ref), 'down --rmi local removed the image it built');
});

/** A build context holding the busybox rootfs, and a Dockerfile that copies it in, then runs `steps`. */
async function writeBuildContext(context: Context, name: string, steps: readonly string[]): Promise<string> {
  const dir = path.join(context.sandbox.work, name);
  await cp(context.sandbox.env.CORRAL_ROOTFS!, path.join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  await writeFile(path.join(dir, 'Dockerfile'), ['FROM scratch', 'COPY rootfs/ /', ...steps, ''].join('\n'));
  return dir;
}

/** The leak checker's view of buildah: working containers of this suite's builds, as leak lines. */
const buildahContainersOfTheSuite = async (context: Context) => (await findLeaks({ dirs: [context.sandbox.state], projects: [] })).filter((line) => line.startsWith('buildah container'));

const buildWorkDirs = async (context: Context) => (await readdir(path.join(context.sandbox.state, 'images'))).filter((name) => name.startsWith('build-'));

images('a build whose RUN step fails: exit 2, an error naming the step and the Dockerfile, no buildah container left', async (context) => {
  await writeBuildContext(context, 'failing', ['RUN echo going-wrong >&2; exit 3']);
  const file = path.join(context.sandbox.work, 'failing.yaml');
  const project = context.sandbox.projectName('failing');
  await writeFile(file, 'pods:\n  app:\n    containers:\n      main: { build: ./failing }\n');
  // With BUILDAH_LAYERS=true in the environment buildah 1.28 itself keeps the container of the
  // failed step unless told --force-rm.
  for (const env of [{}, { BUILDAH_LAYERS: 'true' }] as Record<string, string>[]) {
    const how = JSON.stringify(env);
    const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d'], { env, timeoutMs: 300_000 });
    assert.is(up.exitCode, 2, `a failed build is a failure on the way, not the user's mistake (${how}): ${up.stdout}\n${up.stderr}`);
    assert.match(up.stderr, `building corral-build/${project}/app/main failed at step \`RUN echo going-wrong >&2; exit 3\` of ${path.join(context.sandbox.work, 'failing/Dockerfile')}: exit status 3 (its last output: going-wrong`, `the image, the step and the Dockerfile, with the step's output (${how})`);
    assert.equal(await buildahContainersOfTheSuite(context), [], `no working container of the build is left in buildah's storage (${how})`);
    assert.equal(await buildWorkDirs(context), [], `nor its work dir in the store (${how})`);
    assert.not.ok(existsSync(path.join(context.sandbox.run, project)), `nothing of the project was made (${how})`);
  }
});

images('an up killed with its buildah during a build: the leak check sees the working container, image prune removes it', async (context) => {
  await writeBuildContext(context, 'slow', [`RUN sleep 60 && echo ${context.project}-slow-step`]);
  const file = path.join(context.sandbox.work, 'slow.yaml');
  await writeFile(file, 'pods:\n  app:\n    containers:\n      main: { build: ./slow }\n');
  // A process group of its own, killed whole: buildah gets no chance to clean up, as under an OOM
  // kill or a service manager's last SIGKILL.
  const up = execa(process.execPath, [cliEntry, '-f', file, '-p', context.sandbox.projectName('slow'), 'up', '-d'], {
    cwd: context.sandbox.work, env: { ...context.sandbox.env }, detached: true, reject: false, stdin: 'ignore', timeout: 120_000,
  });
  const leaks = await eventually(async () => {
    const found = await buildahContainersOfTheSuite(context);
    return found.length > 0 ? found : undefined;
  }, 'the build\'s working container to be made', 60_000);
  process.kill(-up.pid!, 'SIGKILL');
  await up;
  assert.is(leaks.length, 1, `one working container: ${leaks.join('; ')}`);
  assert.match(leaks[0]!, new RegExp(`of the build ${context.sandbox.state}/images/build-${up.pid}-`), 'it is known by the work dir of the killed build');
  await eventually(async () => ((await execa('pgrep', ['-f', `${context.project}-slow-step`], { reject: false })).stdout.trim() === '' ? true : undefined), 'the killed build\'s step to be gone');
  assert.equal(await buildahContainersOfTheSuite(context), leaks, 'it stays after the kill: nothing else will remove it');
  const prune = await corral(context.sandbox, ['image', 'prune']);
  assert.is(prune.exitCode, 0, prune.stderr);
  assert.match(prune.stdout, /^✔ buildah container \S+ \([0-9a-f]{12}\) of a killed build {2}removed$/m, 'prune names what it removed');
  assert.equal(await buildahContainersOfTheSuite(context), [], 'the working container is gone');
  assert.equal(await buildWorkDirs(context), [], 'and the work dir of the killed build');
});

images('images lists the store with shared sizes; image rm refuses a used image; prune frees the rest', async (context) => {
  const listed = JSON.parse((await corral(context.sandbox, ['image', 'ls', '--format', 'json'])).stdout) as { ref: string; size: number; sharedSize: number }[];
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
  const left = JSON.parse((await corral(context.sandbox, ['image', 'ls', '--format', 'json'])).stdout) as unknown[];
  assert.equal(left, [], 'nothing is used any more, so nothing is kept');
});

interface ImageRow { ref: string; id: string; size: number; sharedSize: number; containers: string[] }

async function imageRows(context: Context): Promise<Map<string, ImageRow>> {
  const result = await corral(context.sandbox, ['image', 'ls', '--format', 'json']);
  assert.is(result.exitCode, 0, result.stderr);
  return new Map((JSON.parse(result.stdout) as ImageRow[]).map((row) => [row.ref.replace(context.sandbox.work, 'WORK'), row]));
}

/** The registry holds the layers gzipped (skopeo compressed them on push): other digests than the layout's. */
async function registryLayers(context: Context): Promise<string[]> {
  const inspect = await execa('skopeo', ['inspect', '--tls-verify=false', '--no-tags', `docker://127.0.0.1:${context.port}/test/busy:v1`]);
  return (JSON.parse(inspect.stdout) as { Layers: string[] }).Layers;
}

images('the image config: VOLUME seeded from the image, StopSignal, HEALTHCHECK, ExposedPorts; the file overrides them', async (context) => {
  const rich = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, path.join(context.sandbox.work, 'rich'), {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ["trap 'echo got-usr1; exit 0' USR1; while true; do sleep 0.1; done"],
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    Volumes: { '/data': {} },
    StopSignal: 'SIGUSR1',
    Healthcheck: { Test: ['CMD-SHELL', 'test -e /data/new.txt'], Interval: 200_000_000, Timeout: 2_000_000_000, Retries: 2 },
    ExposedPorts: { '8080/tcp': {} },
  });
  await writeFile(context.file, `
pods:
  rich:
    containers:
      app: { image: "oci:${rich.layout}:v1" }
      plain:
        image: "oci:${rich.layout}:v1"
        healthcheck: { disable: true }
        volumes: [{ type: tmpfs, target: /data }]
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  const exec = (container: string, script: string) => corral(context.sandbox, ['-p', context.project, 'exec', `rich/${container}`, '--', 'sh', '-c', script]);
  const data = await exec('app', 'grep -c " /data " /proc/mounts; ls /data; echo kept > /data/kept.txt');
  assert.equal(data.stdout.trim().split('\n'), ['1', 'new.txt'], 'the anonymous volume is mounted and starts with what the image has there');
  assert.is((await exec('plain', 'grep " /data " /proc/mounts | cut -d" " -f3; ls /data | wc -l')).stdout.trim(), 'tmpfs\n0', 'the file\'s mount replaces the anonymous volume');
  const health = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
    const rows = JSON.parse(result.stdout) as { container: string; health: string | null }[];
    return rows.find((row) => row.container === 'app')?.health === 'healthy' ? rows : undefined;
  }, 'the image\'s healthcheck to pass');
  assert.is(health.find((row) => row.container === 'plain')?.health, null, 'healthcheck: { disable: true } in the file wins');
  const applied = JSON.parse(await readFile(path.join(context.sandbox.state, 'projects', context.project, 'applied.json'), 'utf8')) as { project: { pods: { containers: { name: string; image: { exposedPorts: string[] } }[] }[] } };
  assert.equal(applied.project.pods[0]!.containers.find((container) => container.name === 'app')!.image.exposedPorts, ['8080/tcp'], 'ExposedPorts are recorded');
  const stop = await corral(context.sandbox, ['-p', context.project, 'stop', 'rich/app']);
  assert.is(stop.exitCode, 0, stop.stderr);
  assert.match(await logsOf(context, 'rich/app'), 'got-usr1', 'the image\'s StopSignal stopped it');
});

images('pull on a terminal shows each layer; parallel pulls of two images; layers the store has are not downloaded again', async (context) => {
  const registryRef = `127.0.0.1:${context.port}/test/busy:v1`;
  const dockerArchive = `docker-archive:${path.join(context.sandbox.work, 'busy-docker.tar')}`;
  const command = [process.execPath, cliEntry, 'pull', '--tls-verify', 'false', registryRef, dockerArchive].map((word) => `'${word}'`).join(' ');
  // script(1) gives the CLI a terminal (of a size, as a user at a shell has).
  const onTerminal = (line: string) => execa('script', ['-qec', `stty rows 40 cols 120; ${line}`, '/dev/null'], { env: { ...context.sandbox.env }, reject: false, timeout: 120_000 });
  const pull = await onTerminal(command);
  assert.is(pull.exitCode, 0, pull.stdout);
  const [registryDigest, archiveDigest] = [(await registryLayers(context))[0]!.slice(7, 19), (await firstLayerDigest(context.image.layout)).slice(7, 19)];
  for (const digest of [registryDigest, archiveDigest]) assert.match(pull.stdout, new RegExp(`${digest}\\s+downloading`), `a live line for layer ${digest}, which the store did not have`);
  assert.match(pull.stdout, /✔ 127\.0\.0\.1:\d+\/test\/busy:v1\s+pulled/);
  assert.match(pull.stdout, /✔ docker-archive:.*\s+pulled/);
  const again = await onTerminal(command.replace(` '${dockerArchive}'`, ''));
  assert.is(again.exitCode, 0, again.stdout);
  assert.match(again.stdout, new RegExp(`${registryDigest}\\s+present`), 'a layer the store has is linked, not downloaded');
  assert.not.match(again.stdout, new RegExp(`${registryDigest}\\s+downloading`));
});

images('images names the containers using each image; rm refuses a used or unknown image and changes nothing; rm frees exactly what only that image had; a pull after one killed halfway trusts nothing it left; prune --all removes unused images and those leftovers', async (context) => {
  const registryRef = `127.0.0.1:${context.port}/test/busy:v1`;
  const rich = 'oci:WORK/rich/layout:v1';
  const before = await imageRows(context);
  assert.equal([...before.keys()].sort(), [registryRef, 'docker-archive:WORK/busy-docker.tar', rich].sort());
  assert.equal(before.get(rich)!.containers, [`${context.project}/rich/app`, `${context.project}/rich/plain`], 'the containers created from it');
  assert.match((await corral(context.sandbox, ['image', 'ls'])).stdout, /^IMAGE\s+ID\s+SIZE\s+SHARED SIZE\s+CONTAINERS$/m);
  // `corral images` (compose's): the project's containers, each with the image it was created from.
  const ofProject = await corral(context.sandbox, ['-p', context.project, 'images', '--format', 'json']);
  assert.is(ofProject.exitCode, 0, ofProject.stderr);
  const projectRows = (JSON.parse(ofProject.stdout) as { container: string; repository: string; tag: string; id: string; size: number }[]).filter((row) => row.container.startsWith('rich/'));
  assert.equal(projectRows.map((row) => [row.container, row.repository.replace(context.sandbox.work, 'WORK'), row.tag, row.id, row.size]),
    [['rich/app', 'oci:WORK/rich/layout', 'v1', before.get(rich)!.id, before.get(rich)!.size], ['rich/plain', 'oci:WORK/rich/layout', 'v1', before.get(rich)!.id, before.get(rich)!.size]]);
  const table = await corral(context.sandbox, ['-p', context.project, 'images', 'rich']);
  assert.match(table.stdout, /^CONTAINER\s+REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE\n/);
  assert.match(table.stdout, new RegExp(`^rich/app\\s+oci:\\S+/rich/layout\\s+v1\\s+${before.get(rich)!.id.slice(7, 19)}\\s`, 'm'));
  assert.is(table.stdout.trim().split('\n').length, 3, 'the pod named only');
  const elsewhere = await corral(context.sandbox, ['-p', context.sandbox.projectName('nothing-here'), 'images', '--format', 'json']);
  assert.equal(JSON.parse(elsewhere.stdout), [], 'another project\'s containers are not listed');
  const refused = await corral(context.sandbox, ['image', 'rm', before.get(rich)!.ref]);
  assert.is(refused.exitCode, 2, refused.stdout);
  assert.match(refused.stderr, `is used by ${context.project}/rich/app, ${context.project}/rich/plain (remove those containers first`);
  const never = path.join(context.sandbox.work, 'never.yaml');
  await writeFile(never, 'pods:\n  p:\n    containers:\n      c: { image: "127.0.0.1:1/not/here:v1", pull_policy: never }\n');
  const offline = await corral(context.sandbox, ['-f', never, '-p', context.sandbox.projectName('never'), 'up', '-d']);
  assert.is(offline.exitCode, 1, offline.stdout);
  assert.match(offline.stderr, 'image 127.0.0.1:1/not/here:v1 is not in the local store and pull_policy is never (run `corral pull`, or set pull_policy: missing)');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.sandbox.projectName('never'))), 'nothing of that project was made');
  const unknown = await corral(context.sandbox, ['image', 'rm', 'nothing/like:this']);
  assert.is(unknown.exitCode, 1, 'an unknown name is the user\'s mistake');
  assert.match(unknown.stderr, /no image nothing\/like:this in the store \(`corral images` lists them/);
  assert.equal([...(await imageRows(context)).keys()], [...before.keys()], 'refused removals remove nothing');

  const layers = path.join(context.sandbox.state, 'images/layers');
  const dirOf = (digest: string) => digest.replace(':', '-');
  const own = (await registryLayers(context)).map(dirOf);
  const stored = await readdir(layers);
  const removed = await corral(context.sandbox, ['image', 'rm', registryRef]);
  assert.is(removed.exitCode, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`✔ image ${registryRef.replace(/\./g, '\\.')}  removed\\n(✔ layer sha256-[0-9a-f]{12}  removed\\n)+reclaimed [1-9]`));
  assert.equal(await readdir(layers), stored.filter((name) => !own.some((dir) => name.startsWith(dir))), 'exactly its own layers are gone');

  // What a pull killed halfway leaves: its temporary layout, a half-copied blob, a half-unpacked layer.
  const dead = execa('true');
  await dead;
  const [layerDigest] = await registryLayers(context);
  const leftovers = {
    pull: path.join(context.sandbox.state, `images/pull-${dead.pid}-x1y2z3`),
    blob: path.join(context.sandbox.state, `images/blobs/sha256/${layerDigest!.slice(7)}.${dead.pid}.0badc0de.partial`),
    layer: path.join(layers, `${dirOf(layerDigest!)}.${dead.pid}.0badc0de.partial`),
  };
  await mkdir(path.join(leftovers.pull, 'layout/blobs/sha256'), { recursive: true });
  await writeFile(leftovers.blob, 'half a blob');
  await mkdir(path.join(leftovers.layer, 'bin'), { recursive: true });
  await writeFile(path.join(leftovers.layer, 'junk-from-a-dead-pull'), '');
  const pull = await corral(context.sandbox, ['pull', '--tls-verify', 'false', registryRef]);
  assert.is(pull.exitCode, 0, pull.stderr);
  const layer = path.join(layers, dirOf(layerDigest!));
  assert.ok(existsSync(path.join(layer, 'bin/busybox')), 'the layer is whole');
  assert.not.ok(existsSync(path.join(layer, 'junk-from-a-dead-pull')), 'nothing of the dead pull\'s half layer is in it');

  const archiveLayers = [dirOf(await firstLayerDigest(context.image.layout))];
  const prune = await corral(context.sandbox, ['image', 'prune', '--all']);
  assert.is(prune.exitCode, 0, prune.stderr);
  assert.match(prune.stdout, /^✔ image docker-archive:.*  removed$/m);
  assert.equal([...(await imageRows(context)).keys()], [rich], 'the image the running project uses stays');
  const afterPrune = await readdir(layers);
  assert.not.ok(afterPrune.some((name) => archiveLayers.some((dir) => name.startsWith(dir))), 'the archive\'s layers are gone');
  assert.ok(afterPrune.length > 0, 'the running image\'s layers stay');
  for (const [what, leftover] of Object.entries(leftovers)) assert.not.ok(existsSync(leftover), `the dead pull's ${what} leftover is gone`);
});

images('an image with more layers than one overlay mount can name runs on a private copy of its layers, and says so', async (context) => {
  const many = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, path.join(context.sandbox.work, 'many'), {
    Cmd: ['sh', '-c', "ls /layers | wc -l; ls /data; test -e /junk.txt || echo junk-gone; echo private > /bin/written; trap 'exit 0' TERM; while true; do sleep 0.2; done"],
  }, 'v1', { extraLayers: 45 });
  const file = path.join(context.sandbox.work, 'many.yaml');
  const project = context.sandbox.projectName('many');
  await writeFile(file, `pods:\n  deep:\n    containers:\n      c: { image: "oci:${many.layout}:v1" }\n`);
  const up = await corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, /deep\/c: overlayfs cannot make its root \(E2BIG: .*47 lower dirs.*\); it runs on a private copy of its image instead/);
  const logs = await eventually(async () => {
    const text = (await corral(context.sandbox, ['-p', project, 'logs', 'deep/c'])).stdout;
    return text.includes('junk-gone') ? text : undefined;
  }, 'the container on the copy to run');
  assert.equal(logs.trim().split('\n').map((line) => line.replace(/^deep\/c \| /, '')), ['45', 'new.txt', 'junk-gone'], 'every layer, the opaque dir and the whiteout as overlayfs would show them');
  const layers = path.join(context.sandbox.state, 'images/layers');
  for (const layer of await readdir(layers)) assert.not.ok(existsSync(path.join(layers, layer, 'bin/written')), 'writes stay in the container\'s copy');
  const down = await corral(context.sandbox, ['-p', project, 'down']);
  assert.is(down.exitCode, 0, down.stderr);
  const dirs = [path.join(context.sandbox.run, project), path.join(context.sandbox.state, 'projects', project)];
  assert.equal(await findLeaks({ dirs, projects: [project] }), [], 'the copy is unmounted with the container');
  assert.not.ok(existsSync(path.join(dirs[1]!, 'containers')), 'and gone');
});

images.run();
