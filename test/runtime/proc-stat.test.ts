import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readProcStat } from '../../src/runtime/proc-stat.js';

// /proc/PID/stat of real processes: this one, a zombie, one that is gone.

const procStat = suite('runtime: /proc/PID/stat');

procStat('a live process: its name and a running or sleeping state', () => {
  const stat = readProcStat(process.pid);
  assert.ok(stat, 'this process has a stat');
  assert.match(stat!.name, /node/, `its name: ${stat!.name}`);
  assert.ok(['R', 'S'].includes(stat!.state), `its state: ${stat!.state}`);
  assert.ok(Number(stat!.start) > 0, 'its start time');
  assert.is(stat!.exiting, false);
});

procStat('a name with spaces and parentheses does not shift the fields', async () => {
  // The shell names itself through /proc/self/comm; the trailing `:` keeps it from exec'ing sleep.
  const child = spawn('sh', ['-c', 'printf "a) (b c" > /proc/self/comm; sleep 5; :'], { stdio: 'ignore' });
  try {
    let stat = readProcStat(child.pid!);
    for (let look = 0; look < 100 && stat?.name !== 'a) (b c'; look++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      stat = readProcStat(child.pid!);
    }
    assert.is(stat?.name, 'a) (b c', 'the whole name');
    // A state letter of a live process (a loaded host can show it in D, waiting on the disk); a
    // shifted field would be a piece of the name or a number. Its start time, 20 fields on, is the
    // one of the process: the same as read by the second look.
    assert.match(stat!.state, /^[RSDWI]$/, `the state after the name: ${stat!.state}`);
    assert.is(stat!.start, readProcStat(child.pid!)?.start, 'the start time is the same field each time');
    assert.ok(Number(stat!.start) >= Number(readProcStat(process.pid)!.start), 'and not before this process started');
  } finally {
    child.kill('SIGKILL');
  }
});

procStat('a zombie says Z; a reaped process has no stat', async () => {
  const child = spawn('true', { stdio: 'ignore' });
  const pid = child.pid!;
  // Not reaped until the exit event is handled: poll synchronously for the zombie.
  let state: string | undefined;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && state !== 'Z') state = readProcStat(pid)?.state;
  assert.is(state, 'Z', 'exited, not reaped: a zombie');
  await once(child, 'exit');
  assert.is(readProcStat(pid), undefined, 'reaped: no such process');
  assert.is(readProcStat(0), undefined, 'no pid 0');
});

procStat.run();
