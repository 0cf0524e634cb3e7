import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from 'commander';
import { COMMAND_FILES, commandNamed, registerCommands } from '../../src/cli/commands.js';
import { withProjectOptions } from '../../src/cli/target.js';

// Which command a command line names, read before any command is loaded (a `ps` loads `ps` only), and
// the table that says which file adds which command, against what the files really add.

/** The program's own options, as main.ts gives them. */
function program(): Command {
  return withProjectOptions(new Command('corral').version('0', '-V, --version').option('--debug', '').enablePositionalOptions());
}

const naming = suite('the command a command line names');

naming('the first word that is not a global option or its value', () => {
  const options = program().options;
  assert.is(commandNamed(['ps'], options), 'ps');
  assert.is(commandNamed(['-p', 'ps', 'ls', '-a'], options), 'ls', '-p takes the next word as its value');
  assert.is(commandNamed(['--debug', '-f', 'a.yaml', '--file', 'b.yaml', 'up', '-d'], options), 'up');
  assert.is(commandNamed(['--project-name=web', 'logs'], options), 'logs');
  assert.is(commandNamed(['-pweb', 'down'], options), 'down');
  assert.is(commandNamed(['--', 'ps'], options), 'ps');
});

naming('none, or not read with certainty: undefined (every command is loaded)', () => {
  const options = program().options;
  assert.is(commandNamed([], options), undefined);
  assert.is(commandNamed(['--version'], options), undefined);
  assert.is(commandNamed(['--help'], options), undefined, 'the help option is not among the options');
  assert.is(commandNamed(['--bogus', 'ps'], options), undefined);
  assert.is(commandNamed(['--debug=yes', 'ps'], options), undefined, 'a flag takes no value');
});

naming.run();

const table = suite('the table of command files');

table('loading every file adds the commands the table names, in its order', async () => {
  const all = program();
  await registerCommands(all, []);
  assert.equal(all.commands.map((command) => command.name()), COMMAND_FILES.flatMap((file) => file.names));
});

table('a command line that names a command adds that command\'s file only', async () => {
  for (const file of COMMAND_FILES) {
    for (const name of file.names) {
      const one = program();
      await registerCommands(one, [name]);
      assert.equal(one.commands.map((command) => command.name()), file.names, name);
    }
  }
});

table.run();
