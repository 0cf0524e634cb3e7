import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, type Sandbox } from '../helpers/sandbox.js';

// hostname, user, labels, subpath, create_host_path, secrets and configs, a shared PID namespace,
// network: container:POD/CONTAINER and userns: auto, each checked from inside the containers
// (their /proc and files) and on the host, where a user would look.

interface Context { sandbox: Sandbox; project: string; file: string }
const keys = suite<Context>('the project file in effect inside containers');

const LOOP = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

async function inside(context: Context, resource: string, script: string, options: { user?: string } = {}) {
  const runcRoot = path.join(context.sandbox.run, context.project, 'runc');
  const user = options.user ? ['--user', options.user] : [];
  const result = await execa('runc', ['--root', runcRoot, 'exec', ...user, `${context.project}.${resource.replace('/', '.')}`, 'sh', '-c', script], { reject: false });
  return { code: result.exitCode, out: String(result.stdout).trim(), err: String(result.stderr).trim() };
}

keys.before(async (context) => {
  Object.assign(context, await createProjectSandbox('speckeys', 'keys'));
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(context.file, `
secrets:
  token: { content: "t0ps3cret" }
configs:
  conf: { content: "key=value" }
volumes:
  data: {}
pods:
  box:
    share: [net, ipc, uts, pid]
    labels: { com.example.team: core }
    containers:
      main:
        rootfs: ${rootfs}
        command: ["sh", "-c", '${LOOP}']
        hostname: main-host
        user: "1000:1000"
        labels: { com.example.role: main }
        secrets: [token]
        configs: [{ source: conf, target: /etc/app.conf }, { source: conf, target: /etc/octal.conf, mode: 0440 }]
        volumes:
          - { source: data, target: /sub, subpath: inner/dir }
          - { type: bind, source: ./made, target: /made, create_host_path: true }
      peer:
        rootfs: ${rootfs}
        command: ["sh", "-c", '${LOOP}']
  joiner:
    containers:
      net:
        rootfs: ${rootfs}
        network: container:box/main
        command: ["sh", "-c", '${LOOP}']
  mapped:
    containers:
      root:
        rootfs: ${rootfs}
        userns: auto
        command: ["sh", "-c", 'cat /proc/self/uid_map; id -u; touch /rootfile && ls /rootfile; ${LOOP}']
`);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}${up.stdout}`);
});

keys.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

keys('hostname: its own for the container that asks, the pod\'s for the others', async (context) => {
  assert.is((await inside(context, 'box/main', 'hostname; cat /etc/hostname')).out, 'main-host\nmain-host', 'own hostname');
  assert.is((await inside(context, 'box/peer', 'hostname')).out, 'box', 'the pod hostname');
});

keys('user: the process runs as 1000:1000', async (context) => {
  assert.is((await inside(context, 'box/main', 'id -u; id -g')).out, '1000\n1000', 'uid and gid');
});

keys('labels of the pod and the container are annotations of the OCI spec', async (context) => {
  const spec = JSON.parse(await readFile(path.join(context.sandbox.run, context.project, 'containers', `${context.project}.box.main`, 'config.json'), 'utf8')) as { annotations: Record<string, string> };
  assert.is(spec.annotations['com.example.team'], 'core', 'pod label');
  assert.is(spec.annotations['com.example.role'], 'main', 'container label');
  assert.is(spec.annotations['corral.pod'], 'box', 'Corral\'s own stay');
});

keys('secrets: read-only at /run/secrets, 0400, readable by the container user; configs at their target', async (context) => {
  const secret = await inside(context, 'box/main', 'cat /run/secrets/token; echo; stat -c "%a %u" /run/secrets/token');
  assert.is(secret.out, 't0ps3cret\n400 1000', `content, mode and owner: ${secret.err}`);
  assert.is.not((await inside(context, 'box/main', 'echo x > /run/secrets/token')).code, 0, 'not writable');
  assert.is((await inside(context, 'box/main', 'cat /etc/app.conf; echo; stat -c %a /etc/app.conf')).out, 'key=value\n444', 'config');
  // An unquoted 0440 is octal, as compose-go and Kubernetes read it (YAML 1.2 alone would make it 440 decimal: 0670).
  assert.is((await inside(context, 'box/main', 'stat -c %a /etc/octal.conf')).out, '440', 'mode: 0440 is octal');
});

keys('subpath: the container writes into the directory inside the volume; create_host_path made the bind source', async (context) => {
  assert.is((await inside(context, 'box/main', 'echo hi > /sub/file && echo ok', { user: '0:0' })).out, 'ok', 'writes to the subpath');
  const onHost = path.join(context.sandbox.state, 'projects', context.project, 'volumes', 'data', '_data', 'inner', 'dir', 'file');
  assert.is(await readFile(onHost, 'utf8'), 'hi\n', 'lands in inner/dir of the volume');
  assert.ok((await stat(path.join(context.sandbox.work, 'made'))).isDirectory(), 'the host directory was created');
});

keys('share: pid: the pod\'s containers see one process tree, with the holder as pid 1', async (context) => {
  const [main, peer] = await Promise.all([inside(context, 'box/main', 'readlink /proc/self/ns/pid'), inside(context, 'box/peer', 'readlink /proc/self/ns/pid; cat /proc/1/comm')]);
  assert.is(peer.out.split('\n')[0], main.out, 'one PID namespace');
  assert.is(peer.out.split('\n')[1], 'catatonit', 'pid 1 is the holder');
  const other = await inside(context, 'joiner/net', 'readlink /proc/self/ns/pid');
  assert.is.not(other.out, main.out, 'other pods have their own');
});

keys('network: container:box/main joins that container\'s network namespace', async (context) => {
  const [main, joiner] = await Promise.all([inside(context, 'box/main', 'readlink /proc/self/ns/net'), inside(context, 'joiner/net', 'readlink /proc/self/ns/net; readlink /proc/self/ns/ipc')]);
  assert.is(joiner.out.split('\n')[0], main.out, 'the same network namespace');
  const mainIpc = await inside(context, 'box/main', 'readlink /proc/self/ns/ipc');
  assert.is.not(joiner.out.split('\n')[1], mainIpc.out, 'but not its IPC namespace');
});

// runc 1.1 cannot exec into a user-namespaced container that joined the pod's namespaces (it enters
// the user namespace first), so the container reports what it sees in its log.
keys('userns: auto: container root is an unprivileged host uid range, and owns its root directory', async (context) => {
  const logs = await eventually(async () => {
    const result = await corral(context.sandbox, ['-p', context.project, 'logs', 'mapped/root']);
    return result.stdout.includes('/rootfile') ? result.stdout : undefined;
  }, 'the userns container\'s report');
  const [line, uid, file] = logs.trim().split('\n').map((entry) => entry.replace(/^.*?\|\s?/, ''));
  const [containerId, hostId, size] = line!.trim().split(/\s+/).map(Number);
  assert.equal([containerId, size], [0, 65536], `root mapped, 65536 ids: ${logs}`);
  assert.ok(hostId! >= 2 ** 30, `onto a high host range: ${hostId}`);
  assert.is(uid, '0', 'root inside');
  assert.is(file, '/rootfile', 'root could write to /');
  const state = JSON.parse(String((await execa('runc', ['--root', path.join(context.sandbox.run, context.project, 'runc'), 'state', `${context.project}.mapped.root`])).stdout)) as { pid: number };
  const status = await readFile(`/proc/${state.pid}/status`, 'utf8');
  assert.is(/^Uid:\s+(\d+)/m.exec(status)![1], String(hostId), 'on the host the process runs as the mapped uid');
});

keys.run();
