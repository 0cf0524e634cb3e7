import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuPercent, parseBlockIo, parseKeyValues, parseLimit, parseNetDev, type StatsSample } from '../../src/runtime/stats.js';

// What `stats` makes of the kernel's files, as they read on cgroup v1 and v2 hosts.

const test = suite('stats: reading cgroup and /proc files');

test('limits: "max" and v1\'s huge page-aligned number are none; a number is a limit', () => {
  assert.is(parseLimit('max\n'), null);
  assert.is(parseLimit('9223372036854771712\n'), null, 'v1 memory.limit_in_bytes without a limit');
  assert.is(parseLimit('67108864\n'), 64 * 1024 * 1024);
  assert.is(parseLimit('40'), 40);
});

test('net/dev: bytes in and out of every interface but lo', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0',
    '  eth0:    1526      17    0    0    0     0          0         0      542       6    0    0    0     0       0          0',
    '  eth1:     100       1    0    0    0     0          0         0       10       1    0    0    0     0       0          0',
  ].join('\n');
  assert.equal(parseNetDev(text), { rxBytes: 1626, txBytes: 552 });
});

test('block I/O: v1 blkio.throttle.io_service_bytes and v2 io.stat, summed over devices', () => {
  assert.equal(parseBlockIo('8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 4\n8:16 Write 0\nTotal 4612\n', 1), { readBytes: 4100, writeBytes: 512 });
  assert.equal(parseBlockIo('8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=4 wbytes=0 rios=1 wios=0\n', 2), { readBytes: 4100, writeBytes: 512 });
  assert.equal(parseBlockIo('', 2), { readBytes: 0, writeBytes: 0 }, 'no I/O yet: an empty io.stat');
});

test('key values and CPU percent of one CPU between two samples', () => {
  assert.is(parseKeyValues('usage_usec 2500\nuser_usec 2000\n').get('usage_usec'), 2500);
  const sample = (at: number, cpuNanoseconds: number) => ({ at, cpuNanoseconds }) as StatsSample;
  assert.is(cpuPercent(sample(0, 0), sample(1000, 500_000_000)), 50, 'half a second of CPU in one second');
  assert.is(cpuPercent(sample(0, 0), sample(1000, 2_000_000_000)), 200, 'two CPUs busy');
  assert.is(cpuPercent(sample(5, 0), sample(5, 10)), 0, 'no time between them: nothing to say');
});

test.run();
