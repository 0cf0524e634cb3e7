import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootShellLine, bootUnitText, initSystemInstructions, installsOnUp, type BootCommand } from '../../src/converge/boot-service.js';

// The unit that runs `corral boot`, and the line for other init systems, as text: pure. Installing it
// under a real systemd is test/hosts/reboot.test.ts; not installing it without one, converge/boot.test.ts.

const service = suite('converge: the boot unit and the init line');

const command: BootCommand = { node: '/usr/bin/node', script: '/opt/corral/dist/bin/corral.js', environment: { CORRAL_STATE_DIR: '/srv/corral state' } };

service('the unit is a oneshot that stays active, after the local file systems and the network, wanted by multi-user.target', () => {
  const unit = bootUnitText(command);
  for (const line of ['Type=oneshot', 'RemainAfterExit=yes', 'After=local-fs.target network.target', 'WantedBy=multi-user.target', 'TimeoutStartSec=900']) {
    assert.ok(unit.split('\n').includes(line), `the unit has ${line}:\n${unit}`);
  }
  assert.match(unit, /^ExecStart="\/usr\/bin\/node" "\/opt\/corral\/dist\/bin\/corral\.js" boot$/m, 'it runs the installing Corral\'s node and CLI');
  assert.match(unit, /^Environment="CORRAL_STATE_DIR=\/srv\/corral state"$/m, 'with its state dir, quoted');
});

service('up -d installs the unit by itself only on the default dirs: a sandbox or a second state dir never binds the host\'s boot', () => {
  assert.ok(installsOnUp({}), 'no settings: the default dirs');
  assert.ok(installsOnUp({ CORRAL_RUN_DIR: '/run/corral', CORRAL_STATE_DIR: '/var/lib/corral/' }), 'the defaults, spelled out');
  assert.not.ok(installsOnUp({ CORRAL_STATE_DIR: '/var/tmp/corral-test-x' }), 'a test sandbox\'s state dir');
  assert.not.ok(installsOnUp({ CORRAL_RUN_DIR: '/run/corral-test-x' }), 'a test sandbox\'s run dir');
});

service('a % is not taken for a systemd specifier, a quote or backslash is escaped', () => {
  const unit = bootUnitText({ ...command, script: '/opt/100%"\\corral.js', environment: {} });
  assert.match(unit, 'ExecStart="/usr/bin/node" "/opt/100%%\\"\\\\corral.js" boot', unit);
  assert.not.match(unit, 'Environment=', 'no settings, no Environment lines');
});

service('without systemd: one shell line, with the settings that say where the projects are', () => {
  assert.is(bootShellLine(command), "CORRAL_STATE_DIR='/srv/corral state' /usr/bin/node /opt/corral/dist/bin/corral.js boot");
  const instructions = initSystemInstructions(command);
  assert.match(instructions, 'nothing was installed', 'it says nothing was installed');
  assert.match(instructions, `  ${bootShellLine(command)}\n`, 'it gives the line');
  assert.match(instructions, '/etc/local.d/corral.start', 'it names where OpenRC takes it');
});

service.run();
