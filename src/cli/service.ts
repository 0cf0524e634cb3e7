import type { Command } from 'commander';

// `corral service install | uninstall | status`: the systemd unit that runs `corral boot` when the
// host starts (the first `up -d` on a systemd host installs it by itself). Without systemd, install
// says what to add to the init system instead, and changes nothing.

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

async function bootService() {
  return import('../converge/boot-service.js');
}

export function registerService(program: Command): void {
  const service = program
    .command('service')
    .description('the systemd unit that brings projects back at boot (corral-boot.service)');
  service
    .command('install')
    .description('install and enable the unit (without systemd: say what to add to the init system)')
    .action(async () => {
      const outcome = await (await bootService()).installBootService();
      if (!outcome.installed) return print(outcome.instructions);
      print(`installed and enabled ${outcome.unit}: projects left up by \`corral up -d\` come back at boot`);
      if (outcome.warning) print(`warning: ${outcome.warning}`);
    });
  service
    .command('uninstall')
    .description('disable and remove the unit (the recorded projects stay recorded)')
    .action(async () => {
      const { uninstallBootService, BOOT_UNIT } = await bootService();
      const outcome = await uninstallBootService();
      print(outcome.removed ? `removed ${BOOT_UNIT}: nothing comes back at boot` : `${BOOT_UNIT} was not installed`);
      if (outcome.warning) print(`warning: ${outcome.warning}`);
    });
  service
    .command('status')
    .description('whether the unit is installed, enabled and active')
    .action(async () => print(await (await bootService()).describeBootService()));
}
