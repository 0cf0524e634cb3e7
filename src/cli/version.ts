import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { findPackageFile } from '../package-file.js';
import { formatTable } from './table.js';

// `corral version [--format json]`: Corral's version and what it runs on, for bug reports (as
// `docker compose version` and `podman version`): Node.js, the OCI runtime and conmon it finds,
// the kernel, the cgroup hierarchy and whether systemd is init.

interface VersionOptions {
  readonly format?: 'table' | 'json';
}

/** The version of the installed package, for `corral --version` and bug reports. */
export function corralVersion(): string {
  return (JSON.parse(readFileSync(findPackageFile('package.json', 'reinstall Corral'), 'utf8')) as { version: string }).version;
}

/** The first line a tool prints for --version, or why there is none. */
async function toolVersion(binary: string): Promise<string> {
  const { execa } = await import('execa');
  const result = await execa(binary, ['--version'], { reject: false });
  if (result.exitCode !== 0) return `not usable (${binary} --version: ${String(result.stderr || result.stdout || result.exitCode).trim().split('\n')[0]})`;
  return String(result.stdout).split('\n')[0]!.trim();
}

async function runVersion(options: VersionOptions): Promise<void> {
  const [native, { systemdIsInit }] = await Promise.all([import('../native.js'), import('../runtime/monitors.js')]);
  const runtime = process.env.CORRAL_RUNTIME ?? 'runc';
  const conmon = process.env.CORRAL_CONMON ?? 'conmon';
  const facts = {
    corral: corralVersion(),
    node: process.versions.node,
    runtime: `${runtime}: ${await toolVersion(runtime)}`,
    conmon: await toolVersion(conmon),
    kernel: `${os.release()} ${os.arch()}`,
    cgroups: `v${native.cgroupVersion()}`,
    init: systemdIsInit() ? 'systemd' : 'not systemd',
  };
  if (options.format === 'json') process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`);
  else process.stdout.write(`${formatTable(['WHAT', 'VERSION'], Object.entries(facts))}\n`);
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the versions of Corral and of what it runs on')
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: VersionOptions) => runVersion(options));
}
