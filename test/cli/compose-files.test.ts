import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage, type BuiltImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, freePort, inside, type Sandbox } from '../helpers/sandbox.js';

// A project of two compose files really run: compose.yaml and the compose.override.yaml beside it,
// found without -f; what the override adds (an environment variable, a published port, a bind whose
// relative path is the first file's directory's) is seen from inside the container and from the host.

interface Context { sandbox: Sandbox; project: string; image: BuiltImage; port: number; dir: string }
const files = suite<Context>('a project of two compose files, brought up');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

files.before(async (context) => {
  context.sandbox = await createSandbox('compose-files');
  context.project = context.sandbox.projectName('two');
  context.port = await freePort();
  context.dir = path.join(context.sandbox.work, 'app');
  context.image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
});

files.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

files('compose.yaml with compose.override.yaml: the override\'s environment, port and bind are in effect', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  await mkdir(path.join(context.dir, 'site'), { recursive: true });
  await writeFile(path.join(context.dir, 'site/index.html'), 'from-the-bind\n');
  await writeFile(path.join(context.dir, 'compose.yaml'), `services:
  web:
    image: "${image}"
    command: ["sh", "-c", "exec httpd -f -p 8080 -h /srv"]
    environment: { GREETING: base, KEEP: kept }
    stop_signal: SIGKILL
`);
  await writeFile(path.join(context.dir, 'compose.override.yaml'), `services:
  web:
    environment: [GREETING=override]
    ports: ["127.0.0.1:${context.port}:8080"]
    volumes: ["./site:/srv:ro"]
`);
  const up = await corral(context.sandbox, ['-p', context.project, 'up', '-d'], { cwd: context.dir });
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  const env = await eventually(async () => (await inside(context.sandbox, context.project, 'web.web', 'echo "$GREETING $KEEP"')).stdout.trim() || undefined, 'the container');
  assert.is(env, 'override kept', 'GREETING from the override file, KEEP from the first');
  const fromHost = await eventually(async () => {
    const response = await fetch(`http://127.0.0.1:${context.port}/`).catch(() => undefined);
    return response?.ok ? (await response.text()).trim() : undefined;
  }, 'the port the override publishes');
  assert.is(fromHost, 'from-the-bind', 'the override\'s port answers with the file of its bind, relative to the project directory');
  const down = await corral(context.sandbox, ['down'], { cwd: context.dir, env: { COMPOSE_PROJECT_NAME: context.project } });
  assert.is(down.exitCode, 0, `down: ${down.stderr}`);
  const ps = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  assert.equal(JSON.parse(ps.stdout || '[]'), [], 'nothing runs after down');
});

files.run();
