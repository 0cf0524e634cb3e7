import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage } from '../helpers/oci-image.js';
import { findLeaks } from '../helpers/leaks.js';
import { corral, createProjectSandbox, eventually, freePort, inside, listenOnHostAddress, type Sandbox } from '../helpers/sandbox.js';

// Named networks with real pods and real traffic, only between pods this suite made and a listener
// on the host's own address: a proxy on front and back reaches the database on back by name and
// alias, a pod on front alone neither reaches nor resolves it (and the database cannot reach that
// pod either), a pod on default and one on front do not meet although both have a way out, the internal network has no way out while front has, the proxy's published port
// answers, a compose file's networks and aliases come up, and `down` leaves no bridge, rule or lease
// of any network. Every request is bounded by timeout(1); the polls by eventually().

interface Context { sandbox: Sandbox; project: string; compose: string; file: string; port: number; backPrefix: string }
const named = suite<Context>('named networks: isolation, internal, names and aliases per network');

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";
const serve = (text: string) => `mkdir -p /w && echo ${text} > /w/index.html && exec httpd -f -p 80 -h /w`;

function projectFile(context: Context): string {
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  return `
networks:
  front: {}
  back: { internal: true, subnet: ${context.backPrefix}.0/24 }
pods:
  proxy:
    networks: [front, back]
    ports: ["127.0.0.1:${context.port}:80"]
    containers:
      web:
        rootfs: ${rootfs}
        command: ["sh", "-c", "${serve('hello-from-proxy')}"]
        stop_signal: SIGKILL
  db:
    networks:
      back: { aliases: [database], ipv4_address: ${context.backPrefix}.10 }
    containers:
      server:
        rootfs: ${rootfs}
        command: ["sh", "-c", "${serve('hello-from-db')}"]
        stop_signal: SIGKILL
  web:
    networks: [front]
    containers:
      client:
        rootfs: ${rootfs}
        command: ["sh", "-c", "${LOOP}"]
  lone:
    containers:
      server:
        rootfs: ${rootfs}
        command: ["sh", "-c", "${serve('hello-from-lone')}"]
        stop_signal: SIGKILL
`;
}

/** The pod's address on each network, from its attachment record. */
async function addressesOf(context: Context, project: string, pod: string): Promise<Record<string, string>> {
  const record = JSON.parse(await readFile(path.join(context.sandbox.run, project, 'pods', pod, 'network.json'), 'utf8')) as { networks: { network: string; ip: string }[] };
  return Object.fromEntries(record.networks.map((one) => [one.network, one.ip]));
}

/** Fetches a page from inside a pod; the body, or '' when it could not. */
async function fetchInside(context: Context, pod: string, url: string): Promise<string> {
  const result = await inside(context.sandbox, context.project, pod, `timeout 3 wget -q -O- ${url}`);
  return result.exitCode === 0 ? String(result.stdout).trim() : '';
}

named.before(async (context) => {
  Object.assign(context, await createProjectSandbox('named-networks', 'nets'));
  context.compose = context.sandbox.projectName('compose');
  context.port = await freePort();
  // A subnet of its own for back, for the fixed address; another run at the same time has another pid.
  context.backPrefix = `10.89.${100 + (process.pid % 100)}`;
  await writeFile(context.file, projectFile(context));
});

named.after(async (context) => {
  for (const project of [context.project, context.compose]) await corral(context.sandbox, ['-p', project, 'down']);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project, context.compose], networks: ['front', 'back', 'backend'] });
  await context.sandbox.dispose();
  assert.equal(leaks, [], `down leaves nothing of any network, but left: ${leaks.join('; ')}`);
});

named('a pod on two networks has one interface in each; the proxy reaches the database (at its fixed address) by name and alias', async (context) => {
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const links = await inside(context.sandbox, context.project, 'proxy.web', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort");
  assert.equal(String(links.stdout).trim().split('\n'), ['eth0', 'eth1', 'lo'], 'eth0 on front, eth1 on back');
  const proxy = await addressesOf(context, context.project, 'proxy');
  assert.equal(Object.keys(proxy), ['front', 'back'], 'attached in the order written');
  assert.is.not(proxy.front!.split('.').slice(0, 3).join('.'), proxy.back!.split('.').slice(0, 3).join('.'), 'each network its own subnet');
  assert.equal(await addressesOf(context, context.project, 'db'), { back: `${context.backPrefix}.10` }, 'db on back alone, at its ipv4_address');
  const page = await eventually(async () => (await fetchInside(context, 'proxy.web', 'http://db/index.html')) || undefined, 'the proxy to reach db by name');
  assert.is(page, 'hello-from-db');
  assert.is(await fetchInside(context, 'proxy.web', 'http://database/index.html'), 'hello-from-db', 'and by its alias on back');
  assert.is(await fetchInside(context, 'proxy.web', `http://db.${context.project}/index.html`), 'hello-from-db', 'and by its project-qualified name');
});

named('a pod on front alone neither resolves nor reaches the database, and the database cannot reach it', async (context) => {
  const hosts = String((await inside(context.sandbox, context.project, 'web.client', 'cat /etc/hosts')).stdout);
  assert.not.match(hosts, /\b(db|database)\b/, `db is not in web's hosts file:\n${hosts}`);
  assert.match(hosts, /\tproxy proxy\./, 'the proxy, which shares front, is');
  const resolved = await inside(context.sandbox, context.project, 'web.client', 'ping -c 1 -W 1 db');
  assert.match(String(resolved.stderr), /bad address/, `the name db does not resolve: ${resolved.stdout} ${resolved.stderr}`);
  const db = await addressesOf(context, context.project, 'db');
  const web = await addressesOf(context, context.project, 'web');
  assert.is(await fetchInside(context, 'web.client', `http://${db.back}/index.html`), '', 'web cannot reach db\'s address');
  const back = await inside(context.sandbox, context.project, 'db.server', `timeout 3 ping -c 1 -W 2 ${web.front} >/dev/null && echo reached || echo unreached`);
  assert.is(String(back.stdout).trim(), 'unreached', 'nor db web\'s');
  const dbHosts = String((await inside(context.sandbox, context.project, 'db.server', 'cat /etc/hosts')).stdout);
  assert.match(dbHosts, /\tproxy proxy\./, 'db finds the proxy, which shares back');
  assert.not.match(dbHosts, /\tweb web\./, 'but not web');
  assert.match(dbHosts, new RegExp(`${db.back!.replaceAll('.', '\\.')}\\tdb db\\.${context.project}\\n.*\\tdatabase\\n`), `its own alias on its address:\n${dbHosts}`);
});

named('two networks with a way out do not meet either: web on front and lone on default, both ways', async (context) => {
  const lone = await addressesOf(context, context.project, 'lone');
  const web = await addressesOf(context, context.project, 'web');
  assert.equal(Object.keys(lone), ['default'], 'a pod that names no network is on default');
  assert.is(await fetchInside(context, 'lone.server', 'http://127.0.0.1/index.html'), 'hello-from-lone', 'lone serves');
  assert.is(await fetchInside(context, 'web.client', `http://${lone.default}/index.html`), '', 'web cannot reach lone\'s address');
  assert.is(await fetchInside(context, 'proxy.web', `http://${lone.default}/index.html`), '', 'nor can the proxy, on front and back');
  const back = await inside(context.sandbox, context.project, 'lone.server', `timeout 3 ping -c 1 -W 2 ${web.front} >/dev/null && echo reached || echo unreached`);
  assert.is(String(back.stdout).trim(), 'unreached', 'nor lone web\'s');
  const hosts = String((await inside(context.sandbox, context.project, 'lone.server', 'cat /etc/hosts')).stdout);
  assert.not.match(hosts, /\t(web|proxy|db) /, `lone's hosts file lists no pod of another network:\n${hosts}`);
});

named('the internal network has no way out to the host\'s address; front has, and the published port answers', async (context) => {
  const listener = await listenOnHostAddress();
  const ask = (pod: string) => inside(context.sandbox, context.project, pod, `timeout 3 nc ${listener.address} ${listener.port} </dev/null`);
  try {
    const fromDb = await ask('db.server');
    assert.is(String(fromDb.stdout).trim(), '', `db, on back alone (internal), gets no answer: ${fromDb.stderr}`);
    const routes = await inside(context.sandbox, context.project, 'db.server', 'cat /proc/net/route');
    assert.not.match(String(routes.stdout), /\n\w+\t00000000\t/, `db has no default route:\n${routes.stdout}`);
    const fromWeb = await ask('web.client');
    assert.is(String(fromWeb.stdout).trim(), 'hello-from-host', `web, on front, gets the host's answer: ${fromWeb.stderr}`);
    assert.is(String((await ask('proxy.web')).stdout).trim(), 'hello-from-host', 'the proxy, on front and back, goes out through front');
    assert.is(String((await ask('lone.server')).stdout).trim(), 'hello-from-host', 'lone, on default, too');
    assert.is(listener.seen.length, 3, `three connections reached the host, from web, the proxy and lone: ${listener.seen.join(', ')}`);
  } finally {
    await listener.close();
  }
  const page = await eventually(async () => {
    const response = await fetch(`http://127.0.0.1:${context.port}/index.html`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return response?.ok ? (await response.text()).trim() : undefined;
  }, 'the proxy\'s published port to answer');
  assert.is(page, 'hello-from-proxy');
});

named('a pod that goes leaves the hosts files of the pods that shared a network with it', async (context) => {
  const without = projectFile(context).replace(/\n {2}db:\n(?: {4}.*\n)+/, '\n');
  assert.not.match(without, /hello-from-db/, 'the file without db');
  await writeFile(context.file, without);
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, up.stderr);
  const hosts = String((await inside(context.sandbox, context.project, 'proxy.web', 'cat /etc/hosts')).stdout);
  assert.not.match(hosts, /\b(db|database)\b/, `db and its alias are gone:\n${hosts}`);
  assert.match(hosts, /\tweb web\./, 'web is still there');
});

named('a compose file\'s networks and aliases come up, and the alias resolves on its network only', async (context) => {
  const image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sh', '-c', LOOP], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
  const ref = `oci:${image.layout}:${image.tag}`;
  const file = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(file, `services:
  api:
    image: "${ref}"
    networks:
      backend:
        aliases: [api-internal]
  worker:
    image: "${ref}"
    networks: [backend]
  outsider:
    image: "${ref}"
networks:
  backend: {}
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', context.compose, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  assert.not.match(up.stderr, /networks/, `no warning about networks: ${up.stderr}`);
  const inCompose = (pod: string, script: string) => inside(context.sandbox, context.compose, `${pod}.${pod}`, script);
  const apiAddress = (await addressesOf(context, context.compose, 'api')).backend;
  const found = await inCompose('worker', 'grep -w api-internal /etc/hosts');
  assert.match(String(found.stdout), new RegExp(`^${apiAddress!.replaceAll('.', '\\.')}\\t`), `api-internal resolves to api's address on backend: ${found.stdout}`);
  const reach = await inCompose('worker', 'ping -c 1 -W 2 api-internal >/dev/null && echo reached');
  assert.is(String(reach.stdout).trim(), 'reached', 'and answers');
  const outsider = await inCompose('outsider', 'ping -c 1 -W 1 api-internal');
  assert.match(String(outsider.stderr), /bad address/, 'a service on the default network does not know the alias');
});

named.run();
