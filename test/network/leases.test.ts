import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { AddressUnavailableError, isLeasable, leaseAddress, nextAddress, releaseAddresses } from '../../src/network/leases.js';
import { CNI_PATH } from '../../src/network/cni.js';

// Corral's leases, in host-local's store: the round robin of addresses, what may be leased, and that
// host-local (the real plugin, run as CNI runs it) and Corral see each other's leases in one dir.

interface Context { dir: string }
const leases = suite<Context>('leases: host-local\'s store, kept by Corral');

const subnet = { cidr: '10.66.9.0/24', gateway: '10.66.9.1' };
const small = { cidr: '10.66.10.0/29', gateway: '10.66.10.1' };

leases.before(async (context) => {
  context.dir = path.join(await mkdtemp(path.join(tmpdir(), 'corral-leases-')), 'corral-t-leases');
});
leases.after(async (context) => {
  await rm(path.dirname(context.dir), { recursive: true, force: true });
});

leases('the next address: after the last leased, round the subnet, never the network, gateway or broadcast address', () => {
  assert.is(nextAddress(subnet, new Set(), undefined), '10.66.9.2', 'the first after the gateway');
  assert.is(nextAddress(subnet, new Set(['10.66.9.2']), undefined), '10.66.9.3');
  assert.is(nextAddress(subnet, new Set(), '10.66.9.7'), '10.66.9.8', 'after the last leased, even when lower ones are free');
  assert.is(nextAddress(small, new Set(['10.66.10.2', '10.66.10.3']), '10.66.10.6'), '10.66.10.4', 'wrapping round, past the taken ones');
  assert.is(nextAddress(small, new Set(['10.66.10.2', '10.66.10.3', '10.66.10.4', '10.66.10.5', '10.66.10.6']), undefined), undefined, 'a full subnet has none');
  assert.equal(['10.66.10.0', '10.66.10.1', '10.66.10.7', '10.66.11.2'].map((address) => isLeasable(small, address)), [false, false, false, false]);
  assert.ok(isLeasable(small, '10.66.10.6'));
});

leases('a lease is a file of the holder; a wanted address is given or refused; release gives up the holder\'s only', async ({ dir }) => {
  const first = await leaseAddress(dir, subnet, { id: 'p.a', ifName: 'eth0' });
  assert.is(first, '10.66.9.2');
  assert.is(await readFile(path.join(dir, first), 'utf8'), 'p.a\r\neth0', 'host-local\'s format');
  assert.is(await leaseAddress(dir, subnet, { id: 'p.b', ifName: 'eth0' }, '10.66.9.50'), '10.66.9.50');
  try {
    await leaseAddress(dir, subnet, { id: 'p.c', ifName: 'eth0' }, '10.66.9.50');
    assert.unreachable('a leased address is refused');
  } catch (error) {
    assert.instance(error, AddressUnavailableError);
    assert.match((error as Error).message, 'already leased to p.b eth0');
  }
  // The same holder again (an interrupted attach) gives up what it had.
  const again = await leaseAddress(dir, subnet, { id: 'p.a', ifName: 'eth0' });
  assert.is(again, '10.66.9.51', 'round robin: after the last leased (the wanted one, as host-local counts it), not the address just freed');
  assert.equal(await releaseAddresses(dir, { id: 'p.a', ifName: 'eth0' }), ['10.66.9.51']);
  assert.equal((await readdir(dir)).filter((file) => /^\d/.test(file)).sort(), ['10.66.9.50'], 'p.b keeps its lease');
  await releaseAddresses(dir, { id: 'p.b', ifName: 'eth0' });
});

leases('a release at the recorded address takes that lease only when it is the holder\'s; a wrong record falls back to reading every lease', async ({ dir }) => {
  const a = await leaseAddress(dir, subnet, { id: 'p.ra', ifName: 'eth0' });
  const b = await leaseAddress(dir, subnet, { id: 'p.rb', ifName: 'eth0' });
  assert.equal(await releaseAddresses(dir, { id: 'p.ra', ifName: 'eth0' }, b), [a], 'the record names p.rb\'s address: p.rb keeps it, p.ra\'s own is found and released');
  assert.equal((await readdir(dir)).filter((file) => /^\d/.test(file)), [b]);
  assert.equal(await releaseAddresses(dir, { id: 'p.rb', ifName: 'eth0' }, b), [b], 'the recorded address, the holder\'s');
  assert.equal(await releaseAddresses(dir, { id: 'p.rb', ifName: 'eth0' }, b), [], 'again: nothing left, no error');
  assert.equal((await readdir(dir)).filter((file) => /^\d/.test(file)), []);
});

/** host-local run as a CNI runtime runs it, on the same store. */
async function hostLocal(command: 'ADD' | 'DEL', dir: string, id: string): Promise<string> {
  const config = { cniVersion: '1.0.0', name: path.basename(dir), ipam: { type: 'host-local', ranges: [[{ subnet: subnet.cidr, gateway: subnet.gateway }]], dataDir: path.dirname(dir) } };
  const result = await execa(path.join(CNI_PATH, 'host-local'), [], { input: JSON.stringify(config), env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH }, extendEnv: false });
  return command === 'ADD' ? (JSON.parse(result.stdout) as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]! : '';
}

leases('host-local and Corral share the store: neither gives an address the other leased, and each releases the other\'s', async ({ dir }) => {
  const ours = await leaseAddress(dir, subnet, { id: 'p.ours', ifName: 'eth0' });
  const theirs = await hostLocal('ADD', dir, 'p.theirs');
  assert.is.not(theirs, ours, 'host-local skips Corral\'s lease');
  const next = await leaseAddress(dir, subnet, { id: 'p.next', ifName: 'eth0' });
  assert.ok(![ours, theirs].includes(next), `Corral skips host-local's lease and follows its last_reserved_ip: ${ours} ${theirs} ${next}`);
  assert.equal(await releaseAddresses(dir, { id: 'p.theirs', ifName: 'eth0' }), [theirs], 'Corral releases a lease host-local made');
  await hostLocal('DEL', dir, 'p.ours');
  assert.equal((await readdir(dir)).filter((file) => /^\d/.test(file)), [next], 'and host-local one Corral made');
  await releaseAddresses(dir, { id: 'p.next', ifName: 'eth0' });
});

leases.run();
