import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliEntry, createProjectSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// A compose develop.watch rule with action: rebuild, on a real buildah build (no internet: the
// base is the busybox rootfs, copied into the build context): a change in the build context builds
// the image again and recreates the container from it.

interface Context { sandbox: Sandbox; project: string; file: string; child?: ResultPromise; output: string }

const rebuilding = suite<Context>('corral watch: action rebuild');

/** A first build of the image, and the one after the change, may each take a while on 2 cores. */
const BUILD_TIMEOUT_MS = 240_000;
/** The log follower of a recreated container polls its log; a few seconds cover a loaded machine. */
const LOG_FOLLOW_TIMEOUT_MS = 20_000;

rebuilding.before(async (context) => {
  Object.assign(context, await createProjectSandbox('watchrebuild'));
  context.output = '';
  const web = path.join(context.sandbox.work, 'web');
  await cp(context.sandbox.env.CORRAL_ROOTFS!, path.join(web, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  await mkdir(path.join(web, 'content'), { recursive: true });
  await writeFile(path.join(web, 'content/version.txt'), 'v1\n');
  await writeFile(path.join(web, 'Dockerfile'), ['FROM scratch', 'COPY rootfs /', 'COPY content /content',
    `CMD ["sh", "-c", "trap 'exit 0' TERM; echo up-$(cat /content/version.txt); while true; do sleep 0.2; done"]`, ''].join('\n'));
  context.file = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(context.file, ['services:', '  web:', '    build: ./web', '    develop:', '      watch:', '        - { path: ./web/content, action: rebuild }', ''].join('\n'));
});

rebuilding.after(async (context) => {
  if (context.child && context.child.exitCode === null) {
    context.child.kill('SIGTERM');
    await context.child;
  }
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

rebuilding('a change in the build context rebuilds the image and the container shows the new content', async (context) => {
  context.child = execa(process.execPath, [cliEntry, '-f', context.file, '-p', context.project, 'watch'], { env: context.sandbox.env, reject: false, timeout: 2 * BUILD_TIMEOUT_MS });
  context.child.stdout!.on('data', (chunk) => (context.output += chunk));
  context.child.stderr!.on('data', (chunk) => (context.output += chunk));
  await eventually(async () => (context.output.includes('[watch] watching') && context.output.includes('up-v1') ? true : undefined), 'watch to build, start and print v1', BUILD_TIMEOUT_MS);
  await writeFile(path.join(context.sandbox.work, 'web/content/version.txt'), 'v2\n');
  const version = await eventually(async () => {
    const result = await inside(context.sandbox, context.project, 'web.web', 'cat /content/version.txt');
    return result.exitCode === 0 && result.stdout.trim() === 'v2' ? result.stdout.trim() : undefined;
  }, 'the rebuilt container to show v2', BUILD_TIMEOUT_MS);
  assert.is(version, 'v2');
  // Its output reaches watch through the log follower started once the apply is done, a moment after the container runs.
  await eventually(async () => (context.output.includes('up-v2') ? true : undefined), 'watch to print the new container\'s up-v2', LOG_FOLLOW_TIMEOUT_MS);
  assert.match(context.output, /up-v2/, 'the new container started from the new image');
  assert.match(context.output, /watch: web\/web\s+rebuild \(1 file\)/, 'the rule says what it did');
  context.child.kill('SIGTERM');
  assert.is((await context.child).exitCode, 0, context.output);
});

rebuilding.run();
