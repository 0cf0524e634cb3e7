import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planRestoreAddress, type AddressFacts } from '../../src/converge/restore-address.js';

// What a restore does about the pod's address, decided from what it sees (converge/restore-address.ts):
// the restore itself runs with CRIU in the guest (test/hosts/checkpoint), which checks the address a
// restore elsewhere ends up with; here each way of falling back, which the guest does not meet.

const plan = suite('the address a restore asks for');

const fresh: AddressFacts = { recorded: '10.89.7.2', now: '10.89.7.3', subnet: { cidr: '10.89.7.0/24', gateway: '10.89.7.1' }, running: [] };

plan('a fresh pod at another address in the same subnet, the recorded one free: attached anew with it', () => {
  assert.equal(planRestoreAddress(fresh), { kind: 'readdress', ip: '10.89.7.2' });
});

plan('the same address (the pod\'s pinned namespace kept), nothing recorded, or no network: kept', () => {
  assert.equal(planRestoreAddress({ ...fresh, now: '10.89.7.2' }), { kind: 'keep' });
  assert.equal(planRestoreAddress({ ...fresh, recorded: undefined }), { kind: 'keep' });
  assert.equal(planRestoreAddress({ ...fresh, now: undefined }), { kind: 'keep' });
});

plan('the recorded address taken, outside the subnet, or the gateway: moved, saying why', () => {
  const taken = planRestoreAddress({ ...fresh, holder: 'other.web' });
  assert.equal(taken, { kind: 'moved', why: '10.89.7.2 is taken in that network (by other.web)' });
  const outside = planRestoreAddress({ ...fresh, subnet: { cidr: '10.89.8.0/24', gateway: '10.89.8.1' } });
  assert.equal(outside, { kind: 'moved', why: '10.89.7.2 is outside the network\'s subnet 10.89.8.0/24' });
  const gateway = planRestoreAddress({ ...fresh, recorded: '10.89.7.1' });
  assert.equal(gateway, { kind: 'moved', why: '10.89.7.1 is the network\'s gateway here' });
});

plan('another container of the pod runs at the new address: the pod keeps it, as re-addressing would cut that one off', () => {
  assert.equal(planRestoreAddress({ ...fresh, running: ['duo/b'] }), { kind: 'moved', why: 'duo/b of the pod runs at 10.89.7.3, so the pod keeps it' });
});

plan.run();
