import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { buildBusyboxImage, type BuiltImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// `corral up -f docker-compose.yml` and `corral up -f pod.yaml` run real containers: a compose
// service in another's network namespace reaches it on localhost, a published port answers on the
// host, a Kubernetes Pod's containers share an emptyDir, and what cannot be carried over is named on stderr.

interface Context { sandbox: Sandbox; compose: string; kube: string; exported: string; image: BuiltImage; port: number }
const importing = suite<Context>('compose and Kubernetes files brought up');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function inside(context: Context, project: string, resource: string, script: string) {
  const runcRoot = path.join(context.sandbox.run, project, 'runc');
  const result = await execa('runc', ['--root', runcRoot, 'exec', `${project}.${resource.replace('/', '.')}`, 'sh', '-c', script], { reject: false });
  return String(result.stdout).trim();
}

importing.before(async (context) => {
  context.sandbox = await createSandbox('import');
  context.compose = context.sandbox.projectName('compose');
  context.kube = context.sandbox.projectName('kube');
  context.exported = context.sandbox.projectName('exported');
  context.port = await freePort();
  context.image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
});

importing.after((context) => downAndAssertNothingLeaks(context.sandbox, context.compose, context.kube, context.exported));

importing('a compose file: services as pods, network_mode: service:, ports, environment, warnings with lines', async (context) => {
  const file = path.join(context.sandbox.work, 'docker-compose.yml');
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  await writeFile(file, `services:
  web:
    image: "${image}"
    command: ["sh", "-c", "mkdir -p /w && echo compose-$$GREETING > /w/index.html && exec httpd -f -p 8080 -h /w"]
    environment: [GREETING=ok]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:${context.port}:8080"]
  side:
    image: "${image}"
    network_mode: service:web
    logging: { driver: json-file }
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', context.compose, 'up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, /docker-compose\.yml:11:5: services\.side\.logging: Corral keeps each container's output itself \(corral logs\); the logging driver and its options are not used; ignored/, 'the unsupported key is named with its line');
  const ps = await corral(context.sandbox, ['-p', context.compose, 'ps', '--format', 'json']);
  const rows = JSON.parse(ps.stdout) as { pod: string; container: string; state: string }[];
  assert.equal(rows.map((row) => `${row.pod}/${row.container}:${row.state}`).sort(), ['web/side:running', 'web/web:running'], 'side runs in web\'s pod');
  const fromSide = await eventually(async () => (await inside(context, context.compose, 'web/side', 'timeout 5 wget -qO- http://127.0.0.1:8080/')) || undefined, 'web on side\'s localhost');
  assert.is(fromSide, 'compose-ok', 'the sidecar reaches web on localhost');
  const fromHost = await eventually(async () => {
    const response = await fetch(`http://127.0.0.1:${context.port}/`).catch(() => undefined);
    return response?.ok ? (await response.text()).trim() : undefined;
  }, 'the published port');
  assert.is(fromHost, 'compose-ok', 'the published port answers on the host');
});

importing('a Kubernetes Pod: two containers sharing an emptyDir, a label, hostname from the pod', async (context) => {
  const file = path.join(context.sandbox.work, 'pod.yaml');
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  await writeFile(file, `apiVersion: v1
kind: Pod
metadata:
  name: shared
  labels: { app: shared }
spec:
  containers:
    - name: writer
      image: "${image}"
      command: [sh, -c]
      args: ["echo written-by-writer > /data/note; ${LOOP}"]
      volumeMounts: [{ name: data, mountPath: /data }]
    - name: reader
      image: "${image}"
      volumeMounts: [{ name: data, mountPath: /data, readOnly: true }]
  volumes:
    - name: data
      emptyDir: {}
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', context.kube, 'up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  const note = await eventually(async () => (await inside(context, context.kube, 'shared/reader', 'cat /data/note 2>/dev/null; hostname')) .startsWith('written') ? inside(context, context.kube, 'shared/reader', 'cat /data/note; hostname') : undefined, 'the note');
  assert.is(note, 'written-by-writer\nshared', 'the reader sees the writer\'s file; the pod hostname');
  assert.is(await inside(context, context.kube, 'shared/reader', 'touch /data/x 2>/dev/null && echo writable || echo read-only'), 'read-only', 'readOnly mount');
});

importing('corral generate kube writes manifests that corral up runs again', async (context) => {
  const file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(file, `pods:
  svc:
    restart: always
    containers:
      main:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS!}
        command: ["sh", "-c", "echo exported-$$MODE; ${LOOP}"]
        env: { MODE: fine }
        volumes: [{ type: tmpfs, target: /scratch }]
`);
  const generated = await corral(context.sandbox, ['-f', file, 'generate', 'kube']);
  assert.is(generated.exitCode, 0, generated.stderr);
  const kinds = parseAllDocuments(generated.stdout).map((document) => (document.toJS() as { kind: string }).kind);
  assert.equal(kinds, ['Deployment'], 'restart: always makes a Deployment');
  assert.match(generated.stderr, /svc\/main runs the directory/, 'the rootfs is named as needing an image');
  const manifest = path.join(context.sandbox.work, 'exported.yaml');
  await writeFile(manifest, generated.stdout);
  const up = await corral(context.sandbox, ['-f', manifest, '-p', context.exported, 'up', '-d']);
  assert.is(up.exitCode, 0, `up of the export: ${up.stdout}\n${up.stderr}`);
  const logs = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.exported, 'logs', 'svc/main']);
    return result.stdout.includes('exported-fine') ? result.stdout : undefined;
  }, 'the exported container\'s output');
  assert.match(logs, /exported-fine/, 'runs with its env');
});

importing.run();
