import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pluginConfig, type Attachment, type NetworkConfigList } from '../../src/network/cni.js';

// What each plugin of a list reads on stdin: its own config, under the list's name and CNI version,
// with runtimeConfig only for the capabilities it declares and the previous result when there is one.

const building = suite('pluginConfig: one plugin\'s stdin config');

const list: NetworkConfigList = {
  cniVersion: '1.0.0',
  name: 'corral-demo',
  plugins: [
    { type: 'bridge', bridge: 'corral0', ipam: { type: 'host-local' } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall', capabilities: { portMappings: false } },
  ],
};
const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
const attachment: Attachment = { containerId: 'demo.web', netns: '/run/corral/demo/pods/web/ns/net', ifName: 'eth0', capabilityArgs: { portMappings } };
const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.89.7.2/24', gateway: '10.89.7.1' }] };

const cases: { name: string; plugin: Record<string, unknown>; attachment: Attachment; prevResult?: typeof prevResult; expected: Record<string, unknown> }[] = [
  {
    name: 'the first plugin of an ADD: its own keys, the list\'s name and version, nothing else',
    plugin: list.plugins[0]!, attachment,
    expected: { type: 'bridge', bridge: 'corral0', ipam: { type: 'host-local' }, cniVersion: '1.0.0', name: 'corral-demo' },
  },
  {
    name: 'a plugin that declares a capability gets it as runtimeConfig, and the previous result',
    plugin: list.plugins[1]!, attachment, prevResult,
    expected: { type: 'portmap', capabilities: { portMappings: true }, cniVersion: '1.0.0', name: 'corral-demo', runtimeConfig: { portMappings }, prevResult },
  },
  {
    name: 'a capability declared false is not given',
    plugin: list.plugins[2]!, attachment, prevResult,
    expected: { type: 'firewall', capabilities: { portMappings: false }, cniVersion: '1.0.0', name: 'corral-demo', prevResult },
  },
  {
    name: 'no capability arguments: no runtimeConfig even for a plugin that declares one',
    plugin: list.plugins[1]!, attachment: { ...attachment, capabilityArgs: undefined },
    expected: { type: 'portmap', capabilities: { portMappings: true }, cniVersion: '1.0.0', name: 'corral-demo' },
  },
  {
    name: 'the list\'s name and version win over the plugin\'s own',
    plugin: { type: 'bridge', name: 'other', cniVersion: '0.3.1' }, attachment,
    expected: { type: 'bridge', name: 'corral-demo', cniVersion: '1.0.0' },
  },
];

for (const { name, plugin, attachment: given, prevResult: previous, expected } of cases) {
  building(name, () => {
    assert.equal(pluginConfig({ list, plugin, attachment: given, prevResult: previous }), expected, 'the config on the plugin\'s stdin');
  });
}

building.run();
