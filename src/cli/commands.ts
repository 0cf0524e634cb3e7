import type { Command, Option } from 'commander';

// Every command of `corral`, by the names it adds to the program, loaded on use. Loading a module is
// most of what a short command costs (Node 20 has no compile cache: each start parses every module it
// loads), so a command line that names a command loads that command's file only; anything else
// (no command, `help`, `--help`, a mistyped name) loads them all, in this order, for the help text
// and commander's suggestions. A name missing here still works, by the second way.

/** The top-level names a `register*` function adds, and how to load that function. */
interface CommandFile {
  readonly names: readonly string[];
  readonly load: () => Promise<(program: Command) => void>;
}

/** In the order the help lists them. */
export const COMMAND_FILES: readonly CommandFile[] = [
  { names: ['up', 'diff'], load: async () => (await import('./up.js')).registerUp },
  { names: ['down'], load: async () => (await import('./down.js')).registerDown },
  { names: ['create'], load: async () => (await import('./create.js')).registerCreate },
  { names: ['ps'], load: async () => (await import('./ps.js')).registerPs },
  { names: ['logs'], load: async () => (await import('./logs.js')).registerLogs },
  { names: ['stop'], load: async () => (await import('./stop.js')).registerStop },
  { names: ['start'], load: async () => (await import('./start.js')).registerStart },
  { names: ['restart'], load: async () => (await import('./restart.js')).registerRestart },
  { names: ['pause', 'unpause'], load: async () => (await import('./pause.js')).registerPause },
  { names: ['checkpoint', 'restore'], load: async () => (await import('./checkpoint.js')).registerCheckpoint },
  { names: ['kill'], load: async () => (await import('./kill.js')).registerKill },
  { names: ['rm'], load: async () => (await import('./rm.js')).registerRm },
  { names: ['wait'], load: async () => (await import('./wait.js')).registerWait },
  { names: ['top'], load: async () => (await import('./top.js')).registerTop },
  { names: ['stats'], load: async () => (await import('./stats.js')).registerStats },
  { names: ['port'], load: async () => (await import('./port.js')).registerPort },
  { names: ['ls'], load: async () => (await import('./ls.js')).registerLs },
  { names: ['events'], load: async () => (await import('./events.js')).registerEvents },
  { names: ['version'], load: async () => (await import('./version.js')).registerVersion },
  { names: ['run'], load: async () => (await import('./run.js')).registerRun },
  { names: ['exec'], load: async () => (await import('./exec.js')).registerExec },
  { names: ['attach'], load: async () => (await import('./attach.js')).registerAttach },
  { names: ['cp'], load: async () => (await import('./cp.js')).registerCp },
  { names: ['watch'], load: async () => (await import('./watch.js')).registerWatch },
  { names: ['pull'], load: async () => (await import('./pull.js')).registerPull },
  { names: ['images', 'image'], load: async () => (await import('./images.js')).registerImages },
  { names: ['volume'], load: async () => (await import('./volume.js')).registerVolume },
  { names: ['network'], load: async () => (await import('./network.js')).registerNetwork },
  { names: ['gitops'], load: async () => (await import('./gitops.js')).registerGitops },
  { names: ['validate'], load: async () => (await import('./validate.js')).registerValidate },
  { names: ['config'], load: async () => (await import('./config.js')).registerConfig },
  { names: ['generate'], load: async () => (await import('./generate.js')).registerGenerate },
  { names: ['boot'], load: async () => (await import('./boot.js')).registerBoot },
  { names: ['service'], load: async () => (await import('./service.js')).registerService },
  { names: ['supervise'], load: async () => (await import('./supervise.js')).registerSupervise },
];

/**
 * The command a command line names: its first word that is neither one of the program's own options
 * nor an option's value (the program has positional options: its options come before the command).
 * undefined when there is none, or when a word is not read here with certainty (an unknown option, a
 * group of short flags): the caller then loads every command and lets commander decide.
 */
export function commandNamed(args: readonly string[], programOptions: readonly Option[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') return args[index + 1];
    if (arg.length < 2 || !arg.startsWith('-')) return arg;
    const exact = programOptions.find((option) => option.short === arg || option.long === arg);
    if (exact) {
      const next = args[index + 1];
      if (exact.required || (exact.optional && next !== undefined && !next.startsWith('-'))) index++;
      continue;
    }
    // --long=value and -Xvalue: the value is in the same word.
    const attached = arg.startsWith('--') ? arg.slice(0, Math.max(arg.indexOf('='), 0)) : arg.slice(0, 2);
    const withValue = programOptions.find((option) => (option.long === attached || option.short === attached) && option.required);
    if (!withValue) return undefined;
  }
  return undefined;
}

/** Adds to `program` the command the command line names, or every command when it names none of them. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const name = commandNamed(args, program.options);
  const named = COMMAND_FILES.find((file) => name !== undefined && file.names.includes(name));
  const files = named ? [named] : COMMAND_FILES;
  const registers = await Promise.all(files.map((file) => file.load()));
  for (const register of registers) register(program);
}
