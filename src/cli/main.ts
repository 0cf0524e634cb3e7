#!/usr/bin/env node
// First: it takes the fault tests' crash settings out of the environment before anything starts a child.
import '../crash-point.js';
import { Command } from 'commander';
import { describeFailure, exitCodeFor, exitExplainedWith, EXIT_INVALID_INPUT, reportUnexplainedExits } from './errors.js';
import { registerDown } from './down.js';
import { registerLogs } from './logs.js';
import { registerPs } from './ps.js';
import { registerUp } from './up.js';
import { registerSupervise } from './supervise.js';
import { registerExec } from './exec.js';
import { registerCp } from './cp.js';
import { registerRestart } from './restart.js';
import { registerStart } from './start.js';
import { registerStop } from './stop.js';
import { registerValidate } from './validate.js';
import { registerConfig } from './config.js';
import { registerGenerate } from './generate.js';
import { registerGitops } from './gitops.js';
import { registerWatch } from './watch.js';
import { registerPull } from './pull.js';
import { registerImages } from './images.js';
import { registerBoot } from './boot.js';
import { registerService } from './service.js';
import { registerPause } from './pause.js';
import { registerCheckpoint } from './checkpoint.js';
import { registerKill } from './kill.js';
import { registerTop } from './top.js';
import { registerStats } from './stats.js';
import { registerPort } from './port.js';
import { registerLs } from './ls.js';
import { registerEvents } from './events.js';
import { registerCreate } from './create.js';
import { registerRm } from './rm.js';
import { registerWait } from './wait.js';
import { registerRun } from './run.js';
import { registerVolume } from './volume.js';
import { registerNetwork } from './network.js';
import { corralVersion, registerVersion } from './version.js';
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

registerUp(program);
registerDown(program);
registerCreate(program);
registerPs(program);
registerLogs(program);
registerStop(program);
registerStart(program);
registerRestart(program);
registerPause(program);
registerCheckpoint(program);
registerKill(program);
registerRm(program);
registerWait(program);
registerTop(program);
registerStats(program);
registerPort(program);
registerLs(program);
registerEvents(program);
registerVersion(program);
registerRun(program);
registerExec(program);
registerCp(program);
registerWatch(program);
registerPull(program);
registerImages(program);
registerVolume(program);
registerNetwork(program);
registerGitops(program);
registerValidate(program);
registerConfig(program);
registerGenerate(program);
registerBoot(program);
registerService(program);
registerSupervise(program);

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
