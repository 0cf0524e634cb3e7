import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { guestEnabled, runInGuest, type GuestRun } from '../helpers/guest.js';
import { assertSetUp, visibleSetup, type SetupState } from '../helpers/visible-setup.js';
import { readGuestRecord, recordedStep } from './guest-record.js';
import { CHECKPOINT_OBSERVATIONS_FILE, CHECKPOINT_STILL_MS, type CliRecord, type CountRecord, type Observations } from './observations.js';

// Checkpoint and restore with CRIU (issue 23), where CRIU works: in the Debian 12 guest, Debian's
// kernel and CRIU (on the project's own hosts CRIU does not match the kernel, and test/cli/checkpoint
// tests the refusal). The guest boots once and runs checkpoint.in-guest.js, which checkpoints and
// restores a counting container as a user does and records what it sees; the tests assert on that
// record. CORRAL_GUEST=0 leaves it out of a quick local run, and says so.

interface Context extends SetupState {
  run?: GuestRun;
  observations?: Observations;
}

const GUEST_COMMAND = 'set -e\nexec node dist/test/hosts/checkpoint.in-guest.js\n';
// Under emulation on a loaded 2-core host (load 27-29) a CLI call took up to 2 min and the program
// passed 1485 s just before its last two steps; on a quiet host it takes a few minutes.
const PHASE_TIMEOUT_S = 2400;
// The boot alone took 450 s once, with other suites loading the host (48 s when it is quiet).
const BOOT_TIMEOUT_S = 900;

interface Row { state: string; pid: number | null; restarts: number }
interface Counted extends Row { counts: number[] }

const checkpoint = suite<Context>('checkpoint and restore with CRIU (QEMU guest; CORRAL_GUEST=0 leaves it out)');

checkpoint.before(visibleSetup(async (context) => {
  if (!guestEnabled) return;
  const run = await runInGuest({ commands: [GUEST_COMMAND], phaseTimeoutS: PHASE_TIMEOUT_S, bootTimeoutS: BOOT_TIMEOUT_S });
  context.run = run;
  process.stderr.write(`\nguest timings:\n${run.timings}`);
  context.observations = await readGuestRecord(run, CHECKPOINT_OBSERVATIONS_FILE);
  const steps = Object.entries(context.observations).map(([name, step]) => `${name} ${step.ms}`).join(', ');
  process.stderr.write(`\ncheckpoint steps in the guest (ms): ${steps}\n`);
}));

checkpoint.after(async (context) => {
  await context.run?.dispose();
});

/** The value a step in the guest recorded; fails naming the step's error when it threw. */
function observed<T>(context: Context, name: string): T {
  assertSetUp(context);
  return recordedStep<T>(context.run, context.observations, name);
}

function succeeded(context: Context, name: string): CliRecord {
  const result = observed<CliRecord>(context, name);
  assert.is(result.exitCode, 0, `${name} exits ${result.exitCode}: ${result.stdout}${result.stderr}`);
  return result;
}

/** Whether the count goes on from `from`: the number after it is the next one (not 1 again). */
function goesOnFrom(counts: readonly number[], from: number): boolean {
  const at = counts.lastIndexOf(from);
  return at >= 0 && counts[at + 1] === from + 1;
}

checkpoint('criu check passes in the guest, and the answer is cached for its kernel', (context) => {
  const host = observed<{ kernel: string; criu: string }>(context, 'host');
  const answer = observed<{ ok: boolean; kernel: string; reason?: string }>(context, 'criuCheck');
  process.stderr.write(`\nguest: kernel ${host.kernel}, ${host.criu.split('\n')[0]}\n`);
  assert.is(answer.ok, true, `criu check passes on ${host.kernel}: ${answer.reason}`);
  assert.is(answer.kernel, host.kernel, 'the answer is for the guest\'s kernel');
});

checkpoint('checkpoint dumps the counting container and stops it; no restart policy starts it again', (context) => {
  const result = succeeded(context, 'checkpoint');
  assert.match(result.stdout, /counter\/app\s+checkpointed/, `progress names it: ${result.stdout}`);
  const files = observed<{ record: { hash: string; resource: string; dumpMs: number }; images: string[] }>(context, 'checkpointFiles');
  assert.is(files.record.resource, 'counter/app', `the record names the container: ${JSON.stringify(files.record)}`);
  assert.match(files.record.hash, /^[0-9a-f]{8,}$/, `the record keeps the config hash: ${JSON.stringify(files.record)}`);
  assert.ok(files.images.some((name) => name.startsWith('pages-')), `CRIU's images are in the container's state dir: ${files.images.join(' ')}`);
  const stopped = observed<CountRecord>(context, 'afterCheckpoint');
  assert.is(stopped.state, 'exited', `ps says exited after the checkpoint: ${JSON.stringify(stopped)}`);
  assert.equal(stopped.after, stopped.before, `the count stands still, and restart: always did not start it: ${JSON.stringify(stopped)}`);
  const dumped = stopped.actions.lastIndexOf('checkpoint');
  assert.equal(stopped.actions.slice(dumped), ['checkpoint', 'die'], `events: the checkpoint, the die it caused, and no restart ${CHECKPOINT_STILL_MS / 1000} s on: ${stopped.actions.join(' ')}`);
  assert.ok(stopped.before.length >= 3, `it had counted: ${stopped.before.join(' ')}`);
});

checkpoint('restore is refused once the project file changed, naming the change', (context) => {
  const result = observed<CliRecord>(context, 'restoreChanged');
  assert.is(result.exitCode, 2, `refused as a runtime failure: ${result.stdout}${result.stderr}`);
  assert.match(result.stderr, 'the project file changed since the checkpoint', `the refusal says why: ${result.stderr}`);
});

checkpoint('restore brings it back running, and the count goes on from where it was, not from 1', (context) => {
  const stopped = observed<CountRecord>(context, 'afterCheckpoint');
  succeeded(context, 'restore');
  const restored = observed<Counted>(context, 'afterRestore');
  const last = stopped.after.at(-1)!;
  assert.is(restored.state, 'running', `ps says running: ${JSON.stringify(restored)}`);
  assert.ok(goesOnFrom(restored.counts, last), `after ${last} comes ${last + 1}: ${restored.counts.join(' ')}`);
  assert.is(restored.counts.filter((count) => count === 1).length, 1, `it never counted from 1 again: ${restored.counts.join(' ')}`);
});

checkpoint('ps, events and logs say what happened: checkpointed at, restored from, the uptime before', (context) => {
  const told = observed<{ restored: { checkpointedAt: string; uptimeBeforeSeconds: number | null } | null; table: string; events: { action: string; attributes: Record<string, unknown> }[]; notes: string[] }>(context, 'toldRestored');
  assert.ok(told.restored, `ps --format json notes the restored process: ${told.table}`);
  assert.ok((told.restored.uptimeBeforeSeconds ?? 0) >= 3, `with how long it had run before the checkpoint: ${JSON.stringify(told.restored)}`);
  assert.match(told.table, `restored from ${told.restored.checkpointedAt}`, `the ps table says it: ${told.table}`);
  const actions = told.events.map((event) => event.action);
  const dumped = actions.indexOf('checkpoint');
  assert.ok(dumped >= 0 && actions[dumped + 1] === 'die', `events: a checkpoint, then the die it caused: ${actions.join(' ')}`);
  const back = actions.indexOf('restore');
  assert.ok(back > dumped && actions[back + 1] === 'start', `events: a restore, then its start: ${actions.join(' ')}`);
  // The restore is the user's start, not the restart policy's: nothing is scheduled in between.
  assert.equal(actions.slice(dumped, back + 2), ['checkpoint', 'die', 'restore', 'start'], `events: no restart between the checkpoint and the restore: ${actions.join(' ')}`);
  assert.is(told.events[back + 1]!.attributes.restoredFrom, told.restored.checkpointedAt, 'the start names the checkpoint it came from');
  assert.ok(told.notes.some((line) => line.includes('checkpointed at')), `the log notes the checkpoint: ${told.notes.join(' / ')}`);
  assert.ok(told.notes.some((line) => line.includes(`restored from the checkpoint of ${told.restored!.checkpointedAt}`)), `and the restore: ${told.notes.join(' / ')}`);
});

checkpoint('the supervisor takes the restored container over: killed, its restart policy brings it back', (context) => {
  const { before, after } = observed<{ before: Row; after: Row }>(context, 'takenOver');
  assert.is(after.state, 'running', `running again: ${JSON.stringify(after)}`);
  assert.ok(after.restarts > before.restarts, `restarted by the supervisor (restarts ${before.restarts} -> ${after.restarts})`);
});

checkpoint('checkpoint --leave-running dumps it and lets it run on', (context) => {
  const { result, before, after, counts } = observed<{ result: CliRecord; before: Row; after: Row; counts: number[] }>(context, 'leaveRunning');
  assert.is(result.exitCode, 0, `checkpoint --leave-running exits 0: ${result.stdout}${result.stderr}`);
  assert.is(after.state, 'running', `still running: ${JSON.stringify(after)}`);
  assert.is(after.pid, before.pid, 'the same process');
  for (let index = 1; index < counts.length; index++) {
    if (counts[index] === 1) continue;
    assert.is(counts[index], counts[index - 1]! + 1, `the count has no gap nor repeat: ${counts.join(' ')}`);
  }
});

checkpoint('an exported checkpoint is restored after down into fresh state dirs (another host), and counts on', (context) => {
  succeeded(context, 'export');
  const exported = observed<CountRecord>(context, 'exportedCount');
  assert.equal(exported.actions.slice(exported.actions.lastIndexOf('checkpoint')), ['checkpoint', 'die'], `events: no restart after the export's checkpoint: ${exported.actions.join(' ')}`);
  succeeded(context, 'down');
  assert.equal(observed<string[]>(context, 'imagesGone'), [], 'down removes the container\'s state dir, checkpoint images and all');
  succeeded(context, 'placeholderElsewhere');
  succeeded(context, 'createElsewhere');
  succeeded(context, 'placeholderGone');
  succeeded(context, 'importElsewhere');
  const imported = observed<Counted & { address: string | null; seenInside: string }>(context, 'afterImport');
  const last = exported.after.at(-1)!;
  assert.is(imported.state, 'running', `running there: ${JSON.stringify(imported)}`);
  assert.is(imported.counts[0], last + 1, `its first number there is ${last + 1}, the one after the export's last: ${imported.counts.join(' ')}`);
  succeeded(context, 'downElsewhere');
});

checkpoint('the restore elsewhere asks for the recorded address: the fresh pod had another, the restored one has the one it was dumped with', (context) => {
  const { recorded, created } = observed<{ recorded: string | null; created: string | null }>(context, 'addressElsewhere');
  assert.ok(recorded, 'the exported record keeps the pod\'s address');
  assert.ok(created && created !== recorded, `the pod made there got another address first (${created}; recorded ${recorded}), or this test shows nothing`);
  const imported = observed<{ address: string | null; seenInside: string }>(context, 'afterImport');
  assert.is(imported.address, recorded, `the pod's network record has the recorded address after the restore: ${JSON.stringify(imported)}`);
  assert.match(imported.seenInside, `inet ${recorded}/`, `and the restored container sees it on eth0: ${imported.seenInside}`);
  const restore = observed<CliRecord>(context, 'importElsewhere');
  assert.not.match(restore.stdout, 'address was', `nothing moved, so nothing is said of it: ${restore.stdout}`);
});

checkpoint('the export carries the upper dir\'s changes: a file the container made is there elsewhere, a directory it removed (/home/app) is not', (context) => {
  const { made, home } = observed<{ made: CliRecord; home: CliRecord }>(context, 'upperElsewhere');
  assert.is(made.exitCode, 0, `cat /made.txt there: ${made.stdout}${made.stderr}`);
  assert.is(made.stdout.trim(), 'made-before-the-checkpoint');
  assert.is.not(home.exitCode, 0, `/home/app, removed before the checkpoint, is gone there too: ${home.stdout}${home.stderr}`);
});

interface Member { container: string; state: string; pid: number | null; ns: Record<string, string> }

checkpoint('a pod of two containers is checkpointed as one and restored: they still share its net, IPC and UTS namespaces, and count on', (context) => {
  succeeded(context, 'podUp');
  const before = observed<Member[]>(context, 'podBefore');
  const result = succeeded(context, 'podCheckpoint');
  assert.match(result.stdout, /duo\/a\s+checkpointed/, result.stdout);
  assert.match(result.stdout, /duo\/b\s+checkpointed/, result.stdout);
  const stopped = observed<{ members: Member[] }>(context, 'podStopped');
  assert.equal(stopped.members.map((member) => member.state), ['exited', 'exited'], `both stopped: ${JSON.stringify(stopped.members)}`);
  succeeded(context, 'podRestore');
  const after = observed<{ members: Member[]; a: number[]; b: number[]; stoppedA: number; stoppedB: number }>(context, 'podAfter');
  assert.equal(after.members.map((member) => member.state), ['running', 'running'], `both running: ${JSON.stringify(after.members)}`);
  const [a, b] = after.members as [Member, Member];
  for (const kind of ['net', 'ipc', 'uts']) {
    assert.is(a.ns[kind], b.ns[kind], `${kind}: a and b share one namespace after the restore: ${JSON.stringify(after.members)}`);
    assert.is(a.ns[kind], before[0]!.ns[kind], `${kind}: the pod's pinned namespace, as before the checkpoint: ${JSON.stringify(before)}`);
  }
  assert.ok(goesOnFrom(after.a, after.stoppedA), `a counts on from ${after.stoppedA}: ${after.a.join(' ')}`);
  assert.ok(goesOnFrom(after.b, after.stoppedB), `b counts on from ${after.stoppedB}: ${after.b.join(' ')}`);
  succeeded(context, 'podDown');
  assert.equal(observed<string[]>(context, 'podLeaks'), [], 'the pod leaves nothing behind');
});

checkpoint('up --restore starts a stopped container from its matching checkpoint: it ticks on without warming up again (the bench figure)', (context) => {
  const figures = observed<{ cold: { median: number }; restored: { median: number }; checkpoint: { median: number }; warmedAgainAfterRestore: boolean }>(context, 'warmStart');
  process.stderr.write(`\nwarm start in the guest (s, emulation): cold ${figures.cold.median.toFixed(1)}, restored ${figures.restored.median.toFixed(1)}, checkpoint ${figures.checkpoint.median.toFixed(1)}\n`);
  assert.is(figures.warmedAgainAfterRestore, false, 'the restored service did not build its state again');
  assert.ok(figures.restored.median > 0 && figures.cold.median > 0, `both measured: ${JSON.stringify(figures)}`);
  assert.equal(observed<string[]>(context, 'warmLeaks'), [], 'nothing left behind');
});

checkpoint('nothing is left behind', (context) => {
  const leaks = observed<string[]>(context, 'leaks');
  assert.equal(leaks, [], `no mount, cgroup, conmon or runc state is left: ${leaks.join('; ')}`);
});

// Not asked for: no test is registered, so the closing line of the run stays `N passed, N failed`.
if (guestEnabled) checkpoint.run();
else process.stdout.write('\n  checkpoint guest suite left out (CORRAL_GUEST=0; scripts/guest/)\n');
