import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { composeRefusal, containersOf, loadComposeFixture } from '../helpers/compose-fixtures.js';

// Compose values that change how a project runs: carried over in every form compose takes them, or
// refused at their line with the reason and how to rewrite them (never warned and dropped).

const values = suite('compose values carried over or refused at their line');

values('values that would change how the service runs are refused at their line, with a reason and a fix', async () => {
  const refusals = {
    'network-mode-unknown.compose.yml': /^5:19: network_mode container:legacy is not supported: the service would run on another network .*\(put that container in this project as a service/,
    'network-mode-no-service.compose.yml': /^5:19: network_mode service:missing names no service of this project \(name a service of this project: app; compose refuses it too\)$/,
    'security-opt-label.compose.yml': /^7:9: security_opt label:type:svirt_apache_t is not supported: Corral sets no SELinux labels/,
    'pull-policy-build-without-build.compose.yml': /^4:18: pull_policy build asks to build the image on every up, but the container has no build: \(add build:/,
    'pull-policy-daily.compose.yml': /^5:18: pull_policy daily is not supported: the image would be pulled or built at other times than asked \(write always, missing, never or build/,
    'userns-mode.compose.yml': /^4:18: userns_mode keep-id is not supported: the container would run in the host's user namespace/,
    'secret-undefined.compose.yml': /^6:9: service app refers to undefined secret token \(define it under secrets: at the top/,
    'container-name-replicas.compose.yml': /^5:21: service web asks for 3 replicas but container_name names one container/,
    'ulimit-unlimited.compose.yml': /^5:7: ulimit nofile cannot be unlimited: the kernel caps open files at fs.nr_open \(write a number/,
    'healthcheck-timings-only.compose.yml': /^6:7: a healthcheck without test changes the timings of the image's HEALTHCHECK in compose/,
    'env-file-missing.compose.yml': /^5:9: cannot read env_file .*missing\.env: ENOENT/,
    'extra-hosts-bad-address.compose.yml': /^6:9: extra_hosts typo: 10\.0\.0 is not an IP address/,
    'extra-hosts-gateway-on-host.compose.yml': /^6:9: host-gateway is the host's address on the pod's network, and a pod with network: host is on none \(write 127\.0\.0\.1/,
    'ports-ipv6.compose.yml': /^6:9: host address ::1 is IPv6, and Corral publishes ports on IPv4 addresses only \(write 127\.0\.0\.1 instead of \[::1\]\)$/,
    'ports-host-range.compose.yml': /^5:9: host ports 8080-8085 for one container port: docker publishes one free port of the range/,
    'ports-sctp.compose.yml': /^5:9: SCTP ports are not published by Corral/,
  };
  for (const [name, expected] of Object.entries(refusals)) assert.match(await composeRefusal(name), expected, name);
});

values('links start what they name first (service_started), as compose does; depends_on already naming it decides', async () => {
  const { project } = await loadComposeFixture('links-order.compose.yml');
  const dependencies = Object.fromEntries(containersOf(project).map(([name, container]) => [name, container.lifecycle.dependsOn.map((dependency) => `${dependency.resource}:${dependency.condition}`).sort()]));
  assert.equal(dependencies['web/web'], ['cache/cache:healthy', 'db/db:started'], 'the link to db adds a start; cache keeps its declared condition');
  assert.equal(dependencies['worker/worker'], ['cache/cache:started', 'db/db:started'], 'added to the list form too');
});

values('pull_policy build: built on every up, as up --build for that image; if_not_present is missing', async () => {
  const { project, warnings } = await loadComposeFixture('pull-policy-build.compose.yml');
  const byName = Object.fromEntries(containersOf(project));
  assert.is(byName['app/app']!.image?.pullPolicy, 'build');
  assert.ok(byName['app/app']!.image?.build, 'it has something to build');
  assert.is(byName['plain/plain']!.image?.pullPolicy, 'missing');
  assert.equal(warnings, []);
});

values('security_opt: no-new-privileges and seccomp carried; label:disable and apparmor:unconfined are what Corral does', async () => {
  const { project, warnings } = await loadComposeFixture('security-opt.compose.yml');
  const security = Object.fromEntries(containersOf(project).map(([name, container]) => [name, { noNewPrivileges: container.security.noNewPrivileges, seccomp: container.security.seccomp }]));
  assert.equal(security, { 'app/app': { noNewPrivileges: false, seccomp: 'unconfined' }, 'strict/strict': { noNewPrivileges: true, seccomp: 'default' } }, 'each option as written');
  assert.equal(warnings, [], 'nothing warned: each option is carried or is Corral\'s own behaviour');
});

values('sysctls as a list, ulimits as a number, a string and soft/hard; healthcheck retries: 0, disable: true and {}', async () => {
  const { project, warnings } = await loadComposeFixture('kernel-settings.compose.yml');
  const byName = Object.fromEntries(containersOf(project));
  assert.equal(byName['app/app']!.security.sysctls, { 'net.core.somaxconn': '1024', 'net.ipv4.ip_unprivileged_port_start': '80' }, 'NAME=VALUE items, spaces around = trimmed');
  assert.equal(byName['app/app']!.security.ulimits, { nproc: { soft: 65535, hard: 65535 }, nofile: { soft: 2048, hard: 2048 }, core: { soft: 0, hard: 1024 } }, 'a number is soft and hard; strings are numbers');
  assert.is(byName['app/app']!.lifecycle.healthcheck?.retries, 3, 'retries: 0 is docker\'s default, 3');
  assert.is(byName['quiet/quiet']!.lifecycle.healthcheck, undefined, 'disable: true: no check, the image\'s neither');
  assert.is(byName['imaged/imaged']!.lifecycle.healthcheck, undefined, 'healthcheck: {} leaves the image\'s check (busybox has none)');
  assert.not.ok(byName['imaged/imaged']!.image?.fromFile?.includes('healthcheck'), 'an empty healthcheck does not hide the image\'s');
  assert.ok(byName['quiet/quiet']!.image?.fromFile?.includes('healthcheck'), 'disable: true hides the image\'s check');
  assert.equal(warnings, [], 'nothing warned');
});

values('env_file long form: a missing file with required: false adds nothing; later files win', async () => {
  const { project, warnings } = await loadComposeFixture('env-file-long.compose.yml');
  assert.equal(project.pods[0]!.containers[0]!.env, { FROM_PRESENT: '1', SHARED: 'second' }, 'both present files, in order');
  assert.equal(warnings, [], 'required and format: dotenv are carried');
});

values('extra_hosts: host:ip, host=ip, IPv6 with or without brackets, host-gateway, the mapping form with several addresses', async () => {
  const { project, warnings } = await loadComposeFixture('extra-hosts.compose.yml');
  const hosts = Object.fromEntries(project.pods.map((pod) => [pod.name, pod.network.extraHosts.map(({ host, ip }) => `${host} ${ip}`)]));
  assert.equal(hosts, {
    listed: ['legacy 10.0.0.9', 'modern 10.0.0.10', 'six ::1', 'bracketed fe80::1', 'gw host-gateway'],
    mapped: ['one 10.1.1.1', 'many 10.1.1.2', 'many 2001:db8::2'],
  }, 'each address a line of its own, brackets taken off');
  assert.equal(warnings, [], 'nothing warned');
});

values('ports: short forms, ranges, udp, the long form with mode, a published port as a string', async () => {
  const { project, warnings } = await loadComposeFixture('ports.compose.yml');
  assert.equal(project.pods[0]!.network.ports.map((port) => `${port.hostIp}:${port.hostPort}:${port.containerPort}/${port.protocol}`), [
    ':5353:53/udp', ':0:80/tcp', ':8080:81/tcp', '127.0.0.1:8082:82/tcp', '127.0.0.1:0:83/tcp', ':0:84/tcp', '127.0.0.1:8085:85/tcp', ':8086:86/tcp',
    ':8090:90/tcp', ':8091:91/tcp', ':0:100/tcp', ':0:101/tcp',
  ], 'one mapping per port, a free host port where none is written');
  assert.equal(warnings, ['19:9: services.app.ports[8].name: a port\'s name is a label for tools; ignored', '20:9: services.app.ports[8].app_protocol: a port\'s application protocol is a label for tools; ignored'], 'mode is carried; name and app_protocol are labels');
});

values.run();
