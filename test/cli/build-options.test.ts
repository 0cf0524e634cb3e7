import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, freePort, type Sandbox } from '../helpers/sandbox.js';
import { buildBusyboxImage } from '../helpers/oci-image.js';

// compose's build: settings on real buildah builds (no internet: the base is the busybox rootfs
// copied into the context, or an image on a plain-HTTP registry on 127.0.0.1): target, args,
// labels, build secrets, dockerfile_inline, a changed arg building again, and --tls-verify false.

interface Context { sandbox: Sandbox; project: string; file: string; registry?: ResultPromise; projects: string[] }
const builds = suite<Context>('build options: target, args, labels, secrets, inline Dockerfile, TLS');

const BUILD_TIMEOUT_MS = 300_000;
const SECRET = 'build-secret-7f3a9c';

builds.before(async (context) => {
  Object.assign(context, await createProjectSandbox('buildopts'), { projects: [] });
});

builds.after(async (context) => {
  context.registry?.kill('SIGTERM');
  await context.registry;
  await downAndAssertNothingLeaks(context.sandbox, context.project, ...context.projects);
});

/** A build context holding the busybox rootfs (a base without a registry) and `dockerfile`. */
async function writeContext(context: Context, name: string, dockerfile: readonly string[]): Promise<string> {
  const dir = path.join(context.sandbox.work, name);
  await cp(context.sandbox.env.CORRAL_ROOTFS!, path.join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  if (dockerfile.length > 0) await writeFile(path.join(dir, 'Dockerfile'), [...dockerfile, ''].join('\n'));
  return dir;
}

/** The config of the image the store has under `ref` (what buildah wrote, labels included). */
async function storedConfig(context: Context, ref: string): Promise<{ config: { Labels?: Record<string, string> } }> {
  const images = path.join(context.sandbox.state, 'images');
  const record = JSON.parse(await readFile(path.join(images, 'refs', `${encodeURIComponent(ref)}.json`), 'utf8')) as { id: string };
  return JSON.parse(await readFile(path.join(images, 'blobs', record.id.replace(':', '/')), 'utf8'));
}

const up = (context: Context, file: string, project: string, ...flags: string[]) => corral(context.sandbox, ['-f', file, '-p', project, 'up', '-d', ...flags], { timeoutMs: BUILD_TIMEOUT_MS });
const execIn = async (context: Context, project: string, command: string) => (await corral(context.sandbox, ['-p', project, 'exec', 'web/web', '--', 'sh', '-c', command])).stdout.trim();

builds('compose: target picks a stage that builds, an arg lands in the image, a label on it, a secret read and not kept; a changed arg builds again', async (context) => {
  await writeContext(context, 'web', [
    'FROM scratch AS runtime',
    'COPY rootfs/ /',
    'ARG GREETING=from-dockerfile',
    'RUN echo "$GREETING" > /etc/greeting',
    // The secret is read during the build: its length and first word are kept, never its content.
    'RUN --mount=type=secret,id=npm_token wc -c < /run/secrets/npm_token > /etc/token-length && cut -c1-5 /run/secrets/npm_token > /etc/token-start',
    'CMD ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.2; done"]',
    // The last stage is a development environment that does not build (as in docker/awesome-compose).
    'FROM runtime AS dev',
    'RUN echo the dev stage is not buildable here >&2; false',
  ]);
  await writeFile(path.join(context.sandbox.work, 'npm-token.txt'), SECRET);
  const file = path.join(context.sandbox.work, 'compose.yaml');
  const compose = (greeting: string) => [
    'secrets:', '  npm_token: { file: ./npm-token.txt }',
    'services:', '  web:', '    build:', '      context: ./web', '      target: runtime',
    `      args: [GREETING=${greeting}, UNSET_ARG]`, '      labels: { com.example.team: builders }', '      secrets: [npm_token]', '',
  ].join('\n');
  await writeFile(file, compose('hello-from-compose'));
  const first = await up(context, file, context.project);
  assert.is(first.exitCode, 0, `target: runtime builds although the last stage fails: ${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, /built \(/, 'built');
  const ref = `corral-build/${context.project}/web/web`;
  await eventually(async () => ((await execIn(context, context.project, 'cat /etc/greeting')) === 'hello-from-compose' ? true : undefined), 'the running container to show the build arg');
  assert.is(await execIn(context, context.project, `cat /etc/token-length; cat /etc/token-start`), `${SECRET.length}\n${SECRET.slice(0, 5)}`, 'the build read the secret');
  assert.is((await storedConfig(context, ref)).config.Labels?.['com.example.team'], 'builders', 'the label is on the built image');
  const found = await execa('grep', ['-rl', SECRET, path.join(context.sandbox.state, 'images')], { reject: false });
  assert.is(found.stdout.trim(), '', 'the secret\'s content is nowhere in the store (layers, blobs, records)');
  assert.is(found.exitCode, 1, `grep found nothing and had no error: ${found.stderr}`);
  assert.is(await execIn(context, context.project, `grep -rl ${SECRET} /etc /run 2>/dev/null; test -e /run/secrets/npm_token && echo mounted`), '', 'nor in the container\'s files');

  const same = await up(context, file, context.project);
  assert.not.match(same.stdout, /built \(/, `the same settings: not built again (${same.stdout})`);
  await writeFile(file, compose('changed-arg'));
  const changed = await up(context, file, context.project);
  assert.is(changed.exitCode, 0, `${changed.stdout}\n${changed.stderr}`);
  assert.match(changed.stdout, /built \(/, 'a changed arg builds again without --build');
  assert.match(changed.stdout, /web\/web {2}recreated/, 'and recreates the container from the new image');
  assert.is(await execIn(context, context.project, 'cat /etc/greeting'), 'changed-arg', 'the new value is in the running container');
});

builds('a target that is not given builds the last stage: its failing step is the error', async (context) => {
  const file = path.join(context.sandbox.work, 'last-stage.yaml');
  const project = context.sandbox.projectName('last');
  context.projects.push(project);
  await writeFile(file, 'secrets:\n  npm_token: { file: ./npm-token.txt }\nservices:\n  web:\n    build: { context: ./web, secrets: [npm_token] }\n');
  const failed = await up(context, file, project);
  assert.is(failed.exitCode, 2, `${failed.stdout}\n${failed.stderr}`);
  assert.match(failed.stderr, /failed at step `RUN echo the dev stage is not buildable here >&2; false`/, `the last stage's step is the one that failed: ${failed.stderr}`);
});

builds('dockerfile_inline: built from a file outside the context, which the build leaves nowhere', async (context) => {
  const dir = await writeContext(context, 'inline', []);
  const file = path.join(context.sandbox.work, 'inline.yaml');
  const project = context.sandbox.projectName('inline');
  context.projects.push(project);
  await writeFile(file, [
    'pods:', '  web:', '    containers:', '      web:', '        build:', '          context: ./inline', '          dockerfile_inline: |',
    '            FROM scratch', '            COPY rootfs/ /', '            RUN echo inline-dockerfile > /etc/made-by',
    '            CMD ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.2; done"]', '',
  ].join('\n'));
  const result = await up(context, file, project);
  assert.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  await eventually(async () => ((await execIn(context, project, 'cat /etc/made-by')) === 'inline-dockerfile' ? true : undefined), 'the image of the inline Dockerfile to run');
  assert.equal((await readdir(dir)).sort(), ['rootfs'], 'nothing was written into the context');
  assert.equal((await readdir(path.join(context.sandbox.state, 'images'))).filter((name) => name.startsWith('build-')), [], 'the build\'s own dir is gone');
});

builds('up --tls-verify false reaches buildah: a FROM on a plain-HTTP registry builds', async (context) => {
  const port = await freePort();
  const config = path.join(context.sandbox.work, 'registry.yml');
  await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(context.sandbox.work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  context.registry = execa('docker-registry', ['serve', config], { reject: false });
  await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.ok ? true : undefined), 'the registry to answer');
  const base = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, path.join(context.sandbox.work, 'base'), { Cmd: ['sh'] });
  const baseRef = `127.0.0.1:${port}/test/base:v1`;
  const push = await execa('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${base.layout}:${base.tag}`, `docker://${baseRef}`], { reject: false });
  assert.is(push.exitCode, 0, `push fails: ${push.stderr}`);
  const dir = path.join(context.sandbox.work, 'from-registry');
  await writeContext(context, 'from-registry', [`FROM ${baseRef}`, 'RUN echo over-plain-http > /etc/base-from', 'CMD ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.2; done"]']);
  const file = path.join(dir, 'compose.yaml');
  const project = context.sandbox.projectName('tls');
  context.projects.push(project);
  await writeFile(file, 'services:\n  web:\n    build: .\n');
  try {
    const verified = await up(context, file, project);
    assert.is(verified.exitCode, 2, `with TLS verified, the plain-HTTP registry is refused: ${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stderr, /http: server gave HTTP response to HTTPS client/, 'buildah says why');
    const plain = await up(context, file, project, '--tls-verify', 'false');
    assert.is(plain.exitCode, 0, `${plain.stdout}\n${plain.stderr}`);
    await eventually(async () => ((await execIn(context, project, 'cat /etc/base-from')) === 'over-plain-http' ? true : undefined), 'the image built on the registry\'s base to run');
  } finally {
    // buildah keeps the base it pulled for FROM in its own storage, which the host shares: not this suite's to leave.
    await execa('buildah', ['rmi', baseRef], { reject: false });
  }
});

builds.run();
