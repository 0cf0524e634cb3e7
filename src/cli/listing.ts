import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { withProjectOptions } from './target.js';

// What `volume ls|inspect` and `network ls|inspect` share: the two subcommands with -p and --format,
// and inspect as docker's: JSON of what was found, whatever the format, then an error for the names
// nothing had.

export interface Inspected {
  /** `volume`, `network`: for the message. */
  readonly what: string;
  /** Where it was looked for, e.g. `any project`. */
  readonly where: string;
  readonly hint: string;
}

/** Prints the rows named (a name may match in several projects); a name none has is an error after them. */
export function printInspected<Row extends { readonly name: string }>(names: readonly string[], rows: readonly Row[], how: Inspected): void {
  const found = rows.filter((row) => names.includes(row.name));
  process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  const missing = names.filter((name) => !found.some((row) => row.name === name));
  if (missing.length > 0) throw new UsageError(`no ${how.what} ${missing.join(', ')} in ${how.where}`, how.hint);
}

/** The `ls` and `inspect` of a command group, each given the subcommand's options over the global ones. */
export interface ListingCommands<Options> {
  readonly lsDescription: string;
  readonly inspectDescription: string;
  ls(options: Options): Promise<void>;
  inspect(names: readonly string[], options: Options): Promise<void>;
}

export function registerLsAndInspect<Options extends object>(group: Command, commands: ListingCommands<Options>): void {
  const merged = (options: Options, command: Command): Options => ({ ...command.optsWithGlobals(), ...options });
  withProjectOptions(group.command('ls').description(commands.lsDescription))
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: Options, command: Command) => commands.ls(merged(options, command)));
  withProjectOptions(group.command('inspect').argument('<names...>', `${group.name()} names`).description(commands.inspectDescription))
    .option('--format <format>', 'json (the only one; accepted as docker takes it)', 'json')
    .action(async (names: string[], options: Options, command: Command) => commands.inspect(names, merged(options, command)));
}
