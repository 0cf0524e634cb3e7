import type { Command } from 'commander';

// `corral boot`: run once when the host starts (by corral-boot.service, or the init system), it brings
// back the projects that `corral up -d` left up: the containers whose restart policy says so
// (`always`; `unless-stopped` unless stopped by the user), each project with its supervisor.

interface BootCommandOptions {
  readonly dryRun?: boolean;
}

async function runBoot(options: BootCommandOptions): Promise<void> {
  const { bringBackRecordedProjects } = await import('../converge/boot.js');
  await bringBackRecordedProjects({ dryRun: options.dryRun, onProgress: (line) => process.stdout.write(`${line}\n`) });
}

export function registerBoot(program: Command): void {
  program
    .command('boot')
    .description('bring back, at boot, the projects left up by up -d (restart: always, and unless-stopped unless stopped)')
    .option('--dry-run', 'print what would come back and change nothing')
    .option('--debug', 'print stacks and the runtime\'s own output')
    .action(async (options: BootCommandOptions) => runBoot(options));
}
