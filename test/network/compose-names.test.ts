import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { findLeaks } from '../helpers/leaks.js';
import { corral, createProjectSandbox, eventually, inside, type Sandbox } from '../helpers/sandbox.js';

// Names and interfaces as compose files give them, with real pods: container_name resolves on the
// pod's networks, links give a name in the linking pod's view alone, a pod recreated with a new
// address is found at it at once by a container that keeps running (its resolver reads /etc/hosts
// again at each lookup: busybox has no getent, so ping and wget look the name up), and
// mac_address, interface_name and priority set the interfaces' addresses, names and order.

interface Context { sandbox: Sandbox; project: string; file: string; prefix: string; ref: string }
const names = suite<Context>('compose names: container_name, links, recreate, mac_address, interface_name, priority');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

/** db at the address ending in dbHost (high, and the new one lower: host-local hands out the addresses after the last one reserved), with a MAC address ending in it. */
function composeFile(context: Context, dbHost: number): string {
  return `services:
  db:
    image: "${context.ref}"
    container_name: my-database
    mac_address: 02:42:ac:11:00:${dbHost.toString(16)}
    networks:
      back:
        ipv4_address: ${context.prefix}.${dbHost}
        interface_name: back0
  app:
    image: "${context.ref}"
    links: ["db:database"]
    networks:
      front: { priority: 1 }
      back: { priority: 10 }
  other:
    image: "${context.ref}"
    networks: [back]
networks:
  front: {}
  back:
    ipam:
      config: [{ subnet: ${context.prefix}.0/24 }]
`;
}

/** The address a name resolves to inside the pod's container, as ping's first line says; '' when it does not resolve. */
async function resolve(context: Context, pod: string, name: string): Promise<string> {
  const result = await inside(context.sandbox, context.project, `${pod}.${pod}`, `ping -c 1 -W 1 ${name} 2>&1 | head -1`);
  return /\((\d+\.\d+\.\d+\.\d+)\)/.exec(String(result.stdout))?.[1] ?? '';
}

names.before(async (context) => {
  Object.assign(context, await createProjectSandbox('compose-names', 'names'));
  context.prefix = `10.89.${100 + ((process.pid + 37) % 100)}`;
  const image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  context.ref = `oci:${image.layout}:${image.tag}`;
  context.file = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(context.file, composeFile(context, 250));
});

names.after(async (context) => {
  await corral(context.sandbox, ['-p', context.project, 'down']);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project], networks: ['front', 'back'] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `down leaves nothing, but left: ${leaks.join('; ')}`);
});

names('container_name resolves on the pod\'s network; a link\'s name only in the linking pod', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.not.match(up.stderr, /container_name|links|mac_address|priority|interface_name/, `none of them warned about: ${up.stderr}`);
  const db = `${context.prefix}.250`;
  assert.is(await eventually(async () => (await resolve(context, 'other', 'my-database')) || undefined, 'other to resolve my-database'), db, 'container_name resolves for a pod on its network');
  assert.is(await resolve(context, 'app', 'my-database'), db, 'and for the linking pod');
  assert.is(await resolve(context, 'app', 'database'), db, 'the link\'s name resolves in the linking pod');
  assert.is(await resolve(context, 'other', 'database'), '', 'and nowhere else');
});

names('ps shows container_name beside the container it names, in the table and in JSON; the others as before', async (context) => {
  const table = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.is(table.exitCode, 0, `${table.stdout}\n${table.stderr}`);
  const lines = table.stdout.split('\n');
  assert.ok(lines.some((line) => /^db\s+db \(container_name: my-database\)\s+running/.test(line)), `db's row names my-database: ${table.stdout}`);
  assert.ok(lines.some((line) => /^app\s+app\s+running/.test(line)), `app's row has its container's name alone: ${table.stdout}`);
  const json = await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json']);
  const rows = JSON.parse(json.stdout) as { pod: string; container: string; containerName: string | null }[];
  assert.equal(rows.map((row) => `${row.pod}/${row.container}:${row.containerName}`).sort(), ['app/app:null', 'db/db:my-database', 'other/other:null'], 'JSON: containerName of each row');
});

names('mac_address, interface_name and priority: the interfaces\' addresses, names and order', async (context) => {
  const links = await inside(context.sandbox, context.project, 'db.db', 'cat /sys/class/net/back0/address; ls /sys/class/net | sort | tr "\\n" " "');
  assert.equal(String(links.stdout).trim().split('\n'), ['02:42:ac:11:00:fa', 'back0 lo'], `db's interface is back0, with its MAC address: ${links.stdout}${links.stderr}`);
  const record = JSON.parse(await readFile(path.join(context.sandbox.run, context.project, 'pods', 'app', 'network.json'), 'utf8')) as { networks: { network: string; ifName: string }[] };
  assert.equal(record.networks.map((one) => `${one.ifName}:${one.network}`), ['eth0:back', 'eth1:front'], 'app is on back first: the higher priority');
  const route = await inside(context.sandbox, context.project, 'app.app', 'ip route | grep default');
  assert.match(String(route.stdout), /dev eth0/, `the default route goes through eth0 (back): ${route.stdout}`);
});

names('a pod recreated with a new address is found at it at once by a container that kept running', async (context) => {
  const before = String((await inside(context.sandbox, context.project, 'app.app', 'cat /proc/1/stat | cut -d" " -f22')).stdout).trim();
  await writeFile(context.file, composeFile(context, 240));
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /db/, 'db was recreated');
  const after = String((await inside(context.sandbox, context.project, 'app.app', 'cat /proc/1/stat | cut -d" " -f22')).stdout).trim();
  assert.is(after, before, 'app kept running (its first process started when it did)');
  const moved = `${context.prefix}.240`;
  assert.is(await resolve(context, 'app', 'db'), moved, 'db is found at its new address');
  assert.is(await resolve(context, 'app', 'database'), moved, 'and so is the link');
  assert.is(await resolve(context, 'other', 'my-database'), moved, 'and the container name');
  const answer = await inside(context.sandbox, context.project, 'app.app', 'ping -c 1 -W 2 database >/dev/null && echo reached');
  assert.is(String(answer.stdout).trim(), 'reached', 'and it answers there');
});

names.run();
