import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { guestEnabled, runInGuest, type GuestRun } from '../helpers/guest.js';
import { assertSetUp, visibleSetup, type SetupState } from '../helpers/visible-setup.js';
import { BROUGHT_BACK, STOPPED } from '../helpers/reboot-project.js';
import { rebootObservationsFile, type BootUnitRecord, type CliRecord, type Observations, type PsRow, type SupervisorRecord } from './observations.js';

// Back after a reboot, on a host like the users': the test guest (systemd as PID 1, cgroup v2) boots
// three times, and reboot.in-guest.js records what each boot shows. 1: `up -d` of a project with one
// pod per restart policy, which installs corral-boot.service, and a `corral stop`; 2, after a real
// reboot: what came back, then `down`; 3, after another: nothing. Three boots take minutes; it runs
// in every run of the test command, as the v2 suite does (CORRAL_GUEST=0 leaves both out).

interface Context extends SetupState {
  run?: GuestRun;
  /** By phase, from 1. */
  phases: Observations[];
}

const PHASES = 3;
const command = (phase: number) => `set -e\nnode dist/test/hosts/reboot.in-guest.js\n# phase ${phase}\n`;
const PHASE_TIMEOUT_S = 600;
const BOOT_UNIT = 'corral-boot.service';

const reboot = suite<Context>('back after a reboot (QEMU guest with systemd; CORRAL_GUEST=0 leaves it out)');

reboot.before(visibleSetup(async (context) => {
  context.phases = [];
  if (!guestEnabled) return;
  const run = await runInGuest({ commands: Array.from({ length: PHASES }, (_, index) => command(index + 1)), phaseTimeoutS: PHASE_TIMEOUT_S });
  context.run = run;
  process.stderr.write(`\nguest timings:\n${run.timings}`);
  for (let phase = 1; phase <= PHASES; phase++) {
    const text = await readFile(path.join(run.job, rebootObservationsFile(phase)), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      const output = run.phases[phase - 1];
      throw new Error([
        `phase ${phase} in the guest recorded nothing (run.sh exit ${run.exitCode}, the command's exit ${output?.exitCode ?? 'none'})`,
        `run.sh: ${run.stderr.trim()}`, `stdout: ${output?.stdout.trim()}`, `stderr: ${output?.stderr.trim()}`, `console:\n${run.consoleTail(40)}`,
      ].join('\n'), { cause: error });
    });
    context.phases.push(JSON.parse(text) as Observations);
  }
}));

reboot.after(async (context) => {
  await context.run?.dispose();
});

/** The value a step of a phase recorded; fails naming the step's error when it threw. */
function observed<T>(context: Context, phase: number, name: string): T {
  assertSetUp(context);
  const step = context.phases[phase - 1]?.[name];
  const output = context.run?.phases[phase - 1];
  assert.ok(step, `phase ${phase} recorded no step ${name}: the program stopped before it (exit ${output?.exitCode}, 124 is its time limit); its stderr: ${output?.stderr.trim().slice(-2000)}`);
  assert.ok(step.ok, `the step ${name} of phase ${phase} failed in the guest: ${step.error}`);
  return step.value as T;
}

function cliSucceeded(context: Context, phase: number, name: string): CliRecord {
  const result = observed<CliRecord>(context, phase, name);
  assert.is(result.exitCode, 0, `${name} (phase ${phase}) exits ${result.exitCode}: ${result.stdout}\n${result.stderr}`);
  return result;
}

const states = (rows: readonly PsRow[]) => rows.map((row) => `${row.pod}/${row.container} ${row.state}`).sort();

reboot('up -d on a systemd host installs and enables corral-boot.service, running this Corral\'s boot', (context) => {
  assert.is(observed<{ pid1: string }>(context, 1, 'host').pid1, 'systemd', 'PID 1 is systemd');
  const up = cliSucceeded(context, 1, 'up');
  assert.match(up.stdout, `installed ${BOOT_UNIT}`, `up -d says it installed the unit: ${up.stdout}`);
  const status = cliSucceeded(context, 1, 'serviceStatus');
  assert.match(status.stdout, `${BOOT_UNIT}: installed (/etc/systemd/system/${BOOT_UNIT}), enabled`, `service status: ${status.stdout}`);
  const unit = observed<string>(context, 1, 'unitFile');
  assert.match(unit, /^ExecStart=".*node" "\/checkout\/dist\/bin\/corral\.js" boot$/m, `the unit runs the installing Corral's boot: ${unit}`);
  assert.match(unit, /^Type=oneshot$/m, 'a oneshot unit');
  assert.match(unit, /^WantedBy=multi-user\.target$/m, 'wanted by multi-user.target');
  assert.ok(observed<boolean>(context, 1, 'recorded'), 'up -d recorded the project for boot');
});

reboot('before the reboot: five containers, keep/app restarted once, paused/app stopped', (context) => {
  assert.is(observed<PsRow>(context, 1, 'restarted').restarts, 1, 'keep/app was restarted once');
  cliSucceeded(context, 1, 'stop');
  const rows = observed<PsRow[]>(context, 1, 'ps');
  const notRunning = states(rows).filter((line) => !line.endsWith(' running'));
  assert.is(notRunning.length, 1, `only the stopped one is not running: ${notRunning.join(', ')}`);
  assert.match(notRunning[0]!, `${STOPPED} exited`, 'the stopped one exited');
  assert.is(rows.length, 5, `five containers: ${states(rows).join(', ')}`);
  assert.ok(observed<string>(context, 1, 'marker'), 'keep/app wrote its marker into the volume');
  assert.is(observed<SupervisorRecord>(context, 1, 'supervisor').pids.length, 1, 'one supervisor');
});

reboot('after the reboot corral-boot.service brought back always and the running unless-stopped, and nothing else', (context) => {
  const unit = observed<BootUnitRecord>(context, 2, 'bootUnit');
  assert.equal([unit.activeState, unit.result], ['active', 'success'], `${BOOT_UNIT} ran and succeeded:\n${unit.journal}`);
  assert.match(unit.journal, `leave ${STOPPED} down: restart: unless-stopped, stopped by \`corral stop\``, `its output says why the stopped one stays down:\n${unit.journal}`);
  const rows = observed<PsRow[]>(context, 2, 'ps');
  assert.equal(states(rows), BROUGHT_BACK.map((resource) => `${resource} running`), `always and the running unless-stopped run; no, on-failure and the stopped one stay down:\n${unit.journal}`);
  assert.is(rows.find((row) => row.pod === 'keep')?.restarts, 1, 'keep/app\'s restart count is the one recorded before the reboot');
  assert.equal(observed<string[]>(context, 2, 'stopped'), [STOPPED], 'the stopped one is still recorded stopped');
});

reboot('what came back has its volume data and a new supervisor, outside the boot unit', (context) => {
  assert.is(observed<string>(context, 2, 'marker'), observed<string>(context, 1, 'marker'), 'the marker keep/app wrote into its volume before the reboot');
  const before = observed<SupervisorRecord>(context, 1, 'supervisor');
  const after = observed<SupervisorRecord>(context, 2, 'supervisor');
  assert.is(after.pids.length, 1, `one supervisor runs after the reboot: ${JSON.stringify(after)}`);
  assert.is.not(after.pids[0], before.pids[0], 'a new supervisor (another pid than before the reboot)');
  const cgroups = [after.cgroup ?? '', ...observed<string[]>(context, 2, 'monitors')];
  assert.is(cgroups.length, 1 + BROUGHT_BACK.length, `the supervisor and a conmon per container: ${cgroups.join(', ')}`);
  for (const cgroup of cgroups) assert.ok(cgroup.startsWith('/corral.slice/') && !cgroup.includes(BOOT_UNIT), `a monitor sits in a scope of corral.slice, not in ${BOOT_UNIT}: ${cgroup}`);
});

reboot('boot ran the applied project: the next up would recreate nothing', (context) => {
  const diff = cliSucceeded(context, 2, 'diff');
  assert.not.match(diff.stdout, 'recreate', `nothing boot made is recreated:\n${diff.stdout}`);
  assert.match(diff.stdout, `${BROUGHT_BACK.length} containers up to date`, `what boot made is up to date:\n${diff.stdout}`);
});

reboot('after down and another reboot nothing of the project came back', (context) => {
  cliSucceeded(context, 2, 'down');
  assert.not.ok(observed<boolean>(context, 2, 'recorded'), 'down removed the boot record');
  const unit = observed<BootUnitRecord>(context, 3, 'bootUnit');
  assert.equal([unit.activeState, unit.result], ['active', 'success'], `${BOOT_UNIT} ran:\n${unit.journal}`);
  assert.match(unit.journal, 'no project to bring back', `it found nothing to bring back:\n${unit.journal}`);
  assert.equal(observed<PsRow[]>(context, 3, 'ps'), [], 'no container');
  assert.equal(observed<SupervisorRecord>(context, 3, 'supervisor').pids, [], 'no supervisor');
  assert.not.ok(observed<boolean>(context, 3, 'recorded'), 'no boot record');
  assert.not.ok(observed<boolean>(context, 3, 'runDir'), 'no run dir');
  const leaks = observed<string[]>(context, 3, 'leaks');
  assert.equal(leaks, [], `nothing left: ${leaks.join('; ')}`);
});

// Not asked for: no test is registered, so the closing line of the run stays `N passed, N failed`.
if (guestEnabled) reboot.run();
else process.stdout.write('\n  reboot guest suite left out (CORRAL_GUEST=0; scripts/guest/)\n');
