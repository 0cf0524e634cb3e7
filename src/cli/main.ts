#!/usr/bin/env node
// First: it takes the fault tests' crash settings out of the environment before anything starts a child.
import '../crash-point.js';
import { Command } from 'commander';
import { describeFailure, exitCodeFor, exitExplainedWith, EXIT_INVALID_INPUT, reportUnexplainedExits } from './errors.js';
import { corralVersion } from './version.js';
import { registerCommands } from './commands.js';
import { withProjectOptions } from './target.js';

// The `corral` command: global options, one file per subcommand, and one place that turns any
// failure into a line on stderr and the exit code of the design (1 input, 2 runtime).

const program = new Command('corral')
  .description('daemonless, declarative pods on runc and conmon')
  .version(corralVersion(), '-V, --version')
  .option('--debug', 'print stacks and the runtime\'s own output on failure')
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();
withProjectOptions(program);

// Commands load what they need when they run (a `ps` must stay quick); the logger reads this then.
program.hook('preAction', (_program, command) => {
  if (command.optsWithGlobals().debug) process.env.CORRAL_LOG_LEVEL = 'debug';
});

// `corral logs | head` closes the pipe early; that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await registerCommands(program, process.argv.slice(2));

reportUnexplainedExits();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') exitExplainedWith(0);
  // commander has printed what was wrong with the command line.
  if (typeof code === 'string' && code.startsWith('commander.')) exitExplainedWith(EXIT_INVALID_INPUT);
  process.stderr.write(`${describeFailure(error, Boolean(program.opts().debug))}\n`);
  exitExplainedWith(exitCodeFor(error));
}
