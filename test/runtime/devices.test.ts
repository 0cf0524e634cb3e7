import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveDevices } from '../../src/runtime/devices.js';

// devices: the host's nodes as they are on this host (/dev/zero is 1:5 on every Linux).

const devices = suite('host device nodes');

devices('a character device: its numbers, mode and the permissions asked', async () => {
  const [zero] = await resolveDevices([{ hostPath: '/dev/zero', containerPath: '/dev/myzero', permissions: 'rw' }]);
  assert.equal(zero && { path: zero.path, type: zero.type, major: zero.major, minor: zero.minor, access: zero.access, mode: zero.fileMode }, { path: '/dev/myzero', type: 'c', major: 1, minor: 5, access: 'rw', mode: 0o666 }, '/dev/zero as the container gets it');
});

devices('a missing node and a file that is no device are refused, naming them', async () => {
  const missing = await resolveDevices([{ hostPath: '/dev/corral-no-such-device', containerPath: '/dev/x', permissions: 'rwm' }]).catch((error: Error) => error);
  assert.match(String(missing), /device \/dev\/corral-no-such-device does not exist on this host \(ENOENT\)/, 'missing');
  const file = await resolveDevices([{ hostPath: '/etc/hostname', containerPath: '/dev/x', permissions: 'rwm' }]).catch((error: Error) => error);
  assert.match(String(file), /\/etc\/hostname is not a device node/, 'a regular file');
});

devices.run();
