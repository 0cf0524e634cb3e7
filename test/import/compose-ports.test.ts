import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { composePorts, PortRefusal } from '../../src/import/compose-ports.js';

// compose's ports: every form, as Corral's short form one port each, or refused with why.

const ports = suite('compose ports');

ports('each form compose takes, as Corral publishes it', () => {
  const cases: [unknown, string[]][] = [
    ['80', ['80']],
    [80, ['80']],
    ['8080:80', ['8080:80']],
    ['127.0.0.1:8080:80', ['127.0.0.1:8080:80']],
    ['127.0.0.1::80', ['127.0.0.1::80']],
    ['[127.0.0.1]:8080:80', ['127.0.0.1:8080:80']],
    ['8080-8081:80-81', ['8080:80', '8081:81']],
    ['80-82', ['80', '81', '82']],
    ['127.0.0.1:8080-8081:80-81/udp', ['127.0.0.1:8080:80/udp', '127.0.0.1:8081:81/udp']],
    ['53:53/UDP', ['53:53/udp']],
    ['80/tcp', ['80']],
    [{ target: 80 }, ['80']],
    [{ target: 80, published: 8080, host_ip: '127.0.0.1', protocol: 'udp', mode: 'host' }, ['127.0.0.1:8080:80/udp']],
    [{ target: 80, published: '8080', mode: 'ingress', name: 'web', app_protocol: 'http' }, ['8080:80']],
    [{ target: 80, published: '' }, ['80']],
  ];
  for (const [entry, expected] of cases) assert.equal(composePorts(entry), expected, JSON.stringify(entry));
});

ports('what Corral cannot publish the same way is refused, saying why', () => {
  const refusals: [unknown, RegExp][] = [
    ['[::1]:8080:80', /host address ::1 is IPv6/],
    ['::1:8080:80', /host address ::1 is IPv6/],
    [{ target: 80, host_ip: '::' }, /write 0\.0\.0\.0 instead of \[::\]/],
    ['8080-8085:80', /host ports 8080-8085 for one container port/],
    [{ target: 80, published: '8080-8081' }, /host ports 8080-8081 for one container port/],
    ['8080-8081:80-82', /differ in length/],
    ['9000/sctp', /SCTP ports are not published by Corral/],
    ['80-70', /ends before it starts/],
    ['1-2000', /more than 1000 ports/],
    ['http', /is not a port/],
    ['10.0.0.300:80:80', /is not an IP address/],
    [{ published: 8080 }, /has no target/],
    [[80], /a port is a number, a string or a mapping/],
  ];
  for (const [entry, expected] of refusals) {
    assert.throws(() => composePorts(entry), (error: unknown) => error instanceof PortRefusal && expected.test(`${error.message} (${error.fix})`), JSON.stringify(entry));
  }
});

ports.run();
