import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBusyboxImage, type BuiltImage } from '../helpers/oci-image.js';
import { corral, createSandbox, downAndAssertNothingLeaks, eventually, freePort, inside, type Sandbox } from '../helpers/sandbox.js';

// Compose values in the forms people write them, run for real: a sysctl given as a list item is in
// /proc/sys, ulimits given as a string are the process's limits, extra_hosts (IPv6, the mapping form,
// host-gateway) are lines of /etc/hosts, host-gateway being the pod's default gateway, an optional
// env_file that is missing adds nothing, and ports in the long form and as ranges serve on 127.0.0.1.

interface Context { sandbox: Sandbox; image: BuiltImage; project: string }
const values = suite<Context>('compose values, run for real');

values.before(async (context) => {
  context.sandbox = await createSandbox('values');
  context.project = context.sandbox.projectName('values');
  context.image = await buildBusyboxImage(context.sandbox.env.CORRAL_ROOTFS!, context.sandbox.work, { Cmd: ['sleep', '1000'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] });
});

values.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

function fetchPage(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(`http://${address}/`, { timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += String(chunk); });
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
  });
}

/** The default gateway in a /proc/net/route table (little-endian hex), as a dotted address. */
function defaultGateway(table: string): string | undefined {
  const row = table.split('\n').map((line) => line.trim().split(/\s+/)).find((fields) => fields[1] === '00000000');
  if (!row?.[2]) return undefined;
  return (row[2].match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)).join('.');
}

values('sysctls list, ulimits as strings, extra_hosts with host-gateway, an optional env_file, ports in long form and ranges', async (context) => {
  const image = `oci:${context.image.layout}:${context.image.tag}`;
  const [single, rangeFirst] = [await freePort(), await freePort()];
  // A range of two host ports that does not overlap the single one (the port after a free one is free in practice).
  let rangeStart = rangeFirst;
  for (let attempt = 0; attempt < 20 && (rangeStart + 1) === single; attempt++) rangeStart = await freePort();
  await writeFile(path.join(context.sandbox.work, 'present.env'), 'FROM_FILE=yes\n');
  const serve = (port: number) => `mkdir -p /w${port} && echo page-${port} > /w${port}/index.html && httpd -p ${port} -h /w${port}`;
  const file = path.join(context.sandbox.work, 'compose.yaml');
  await writeFile(file, `services:
  app:
    image: "${image}"
    command: ["sh", "-c", "${serve(81)}; ${serve(82)}; ${serve(83)}; exec sleep 1000"]
    sysctls:
      - net.core.somaxconn=1234
    ulimits:
      nofile: "2048"
      nproc: { soft: "500", hard: 600 }
      fsize: -1
      core: { soft: 0, hard: -1 }
    extra_hosts:
      - "legacy=10.0.0.9"
      - "six:[fe80::1]"
      - "gw:host-gateway"
    tmpfs:
      - /scratch:size=1m,mode=0700,uid=1000,gid=1001
    env_file:
      - ./present.env
      - { path: ./missing.env, required: false }
    ports:
      - target: 81
        published: "${single}"
        host_ip: 127.0.0.1
        mode: host
      - "127.0.0.1:${rangeStart}-${rangeStart + 1}:82-83"
`);
  const up = await corral(context.sandbox, ['-f', file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up: ${up.stdout}\n${up.stderr}`);
  assert.not.match(up.stderr, /warning/, `nothing warned: ${up.stderr}`);
  const run = async (script: string) => {
    const result = await inside(context.sandbox, context.project, 'app.app', script);
    assert.is(result.exitCode, 0, `${script}: ${result.stderr}`);
    return result.stdout;
  };
  assert.is((await run('cat /proc/sys/net/core/somaxconn')).trim(), '1234', 'the list item\'s sysctl is set in the pod');
  const limits = await run('cat /proc/self/limits');
  assert.match(limits, /Max open files\s+2048\s+2048/, `nofile "2048" is soft and hard: ${limits}`);
  assert.match(limits, /Max processes\s+500\s+600/, `nproc from strings and a number: ${limits}`);
  // fsize and core: whose hard limit this host leaves unlimited (it lacks CAP_SYS_RESOURCE, so no limit can go above the host's).
  assert.match(limits, /Max file size\s+unlimited\s+unlimited/, `fsize -1 is unlimited: ${limits}`);
  assert.match(limits, /Max core file size\s+0\s+unlimited/, `core soft 0, hard -1: ${limits}`);
  assert.is((await run('stat -c "%u:%g %a" /scratch')).trim(), '1000:1001 700', 'the tmpfs belongs to uid= and gid=, with its mode');
  const hosts = await run('cat /etc/hosts');
  assert.match(hosts, /^10\.0\.0\.9\tlegacy$/m, `host=ip: ${hosts}`);
  assert.match(hosts, /^fe80::1\tsix$/m, `IPv6 in brackets, written without them: ${hosts}`);
  const gateway = defaultGateway(await run('cat /proc/net/route'));
  assert.ok(gateway, 'the pod has a default route');
  assert.ok(hosts.split('\n').includes(`${gateway}\tgw`), `host-gateway is the pod's gateway ${gateway}: ${hosts}`);
  assert.match(await run('echo "$FROM_FILE"'), /^yes$/m, 'the present env_file is read, the missing optional one skipped');
  for (const [port, page] of [[single, 'page-81'], [rangeStart, 'page-82'], [rangeStart + 1, 'page-83']] as const) {
    const body = await eventually(async () => fetchPage(`127.0.0.1:${port}`).catch(() => undefined), `the page at 127.0.0.1:${port}`);
    assert.is(body.trim(), page, `127.0.0.1:${port} reaches the container's port`);
  }
});

values.run();
