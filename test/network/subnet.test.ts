import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { subnetContains, subnetOf } from '../../src/network/subnet.js';

// The subnet arithmetic is pure: a CIDR as written in a project file becomes the network it names
// (host bits cleared) and its gateway, and an address or network is in it or not.

const naming = suite('subnetOf: the network a CIDR names, and its gateway');

const subnets: { name: string; cidr: string; expected: { cidr: string; gateway: string } }[] = [
  { name: 'a /24 as written', cidr: '10.89.7.0/24', expected: { cidr: '10.89.7.0/24', gateway: '10.89.7.1' } },
  { name: 'host bits of a /24 are cleared', cidr: '10.89.7.200/24', expected: { cidr: '10.89.7.0/24', gateway: '10.89.7.1' } },
  { name: 'a /16 starts at its boundary', cidr: '172.20.5.9/16', expected: { cidr: '172.20.0.0/16', gateway: '172.20.0.1' } },
  { name: 'a /28 inside a /24', cidr: '192.168.1.37/28', expected: { cidr: '192.168.1.32/28', gateway: '192.168.1.33' } },
  { name: 'the top of the address space does not overflow', cidr: '255.255.255.0/24', expected: { cidr: '255.255.255.0/24', gateway: '255.255.255.1' } },
];

for (const { name, cidr, expected } of subnets) {
  naming(name, () => {
    assert.equal(subnetOf(cidr), expected, `subnetOf(${cidr})`);
  });
}

naming.run();

const containing = suite('subnetContains: an address or network in a subnet');

const cases: { name: string; cidr: string; address: string; inside: boolean }[] = [
  { name: 'the network address itself', cidr: '10.89.7.0/24', address: '10.89.7.0', inside: true },
  { name: 'the broadcast address', cidr: '10.89.7.0/24', address: '10.89.7.255', inside: true },
  { name: 'the next /24', cidr: '10.89.7.0/24', address: '10.89.8.0', inside: false },
  { name: 'the one below', cidr: '10.89.7.0/24', address: '10.89.6.255', inside: false },
  { name: 'an address with its prefix length (as ip addr prints it)', cidr: '10.89.7.0/24', address: '10.89.7.12/24', inside: true },
  { name: 'a CIDR written with host bits still covers its network', cidr: '10.89.7.99/24', address: '10.89.7.3', inside: true },
  { name: 'a /16 holds every /24 below it', cidr: '10.89.0.0/16', address: '10.89.200.1', inside: true },
  { name: 'a /32 holds only itself', cidr: '10.0.0.5/32', address: '10.0.0.6', inside: false },
];

for (const { name, cidr, address, inside } of cases) {
  containing(name, () => {
    assert.is(subnetContains(cidr, address), inside, `subnetContains(${cidr}, ${address})`);
  });
}

containing.run();
