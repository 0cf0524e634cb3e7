import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, eventually, inside, type Sandbox } from '../helpers/sandbox.js';
import { BROUGHT_BACK, LEFT_DOWN, MARKER_FILE, QUICK_BACKOFF, rebootProjectFile, STOPPED } from '../helpers/reboot-project.js';
import { psRows, supervisorPid } from '../chaos/observe.js';
import { rebootProject } from '../chaos/reboot.js';

// `corral boot` after a reboot, simulated on this host as test/chaos/reboot.ts does it (every process of
// the project killed, its run dir, mounts and cgroups gone, the state dir kept): exactly the containers
// whose restart policy says so come back, with their volume data and restart counts, under a new
// supervisor; `down` takes the project out of what boots. And, this host having no systemd, `service
// install` only says what to add to the init system. The same, across real reboots under systemd, is
// test/hosts/reboot.test.ts.

interface Context {
  sandbox: Sandbox;
  project: string;
  file: string;
}

const boot = suite<Context>('converge: boot brings back what the restart policies say');

/** systemd's unit dir, and whether this host boots with systemd (the suite then checks nothing of the no-systemd path). */
const UNIT_FILE = '/etc/systemd/system/corral-boot.service';
const systemdHost = existsSync('/run/systemd/system');

boot.before(async (context) => {
  Object.assign(context, await createProjectSandbox('boot'));
  await writeFile(context.file, rebootProjectFile(context.sandbox.env.CORRAL_ROOTFS!));
});

boot.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

const cli = (context: Context, args: readonly string[]) => corral(context.sandbox, args, { env: { CORRAL_RESTART_BACKOFF: QUICK_BACKOFF } });
const recordFile = (context: Context) => path.join(context.sandbox.state, 'boot', `${context.project}.json`);
const states = async (context: Context) => [...(await psRows(context.sandbox, context.project)).values()].map((row) => `${row.pod}/${row.container} ${row.state}`).sort();

boot('up -d records the project for boot; without systemd it installs no unit, and service install says what to do instead', async (context) => {
  const unitBefore = existsSync(UNIT_FILE);
  const up = await cli(context, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const record = JSON.parse(await readFile(recordFile(context), 'utf8')) as { project: string; file: string; dir: string; profiles: string[] };
  assert.equal({ project: record.project, file: record.file, dir: record.dir, profiles: record.profiles }, { project: context.project, file: context.file, dir: path.dirname(context.file), profiles: [] }, 'the record names the project, its file and dir');
  if (systemdHost) return;
  assert.not.match(up.stdout, 'corral-boot.service', 'up -d installs nothing without systemd');
  const install = await cli(context, ['service', 'install']);
  assert.is(install.exitCode, 0, `service install fails: ${install.stderr}`);
  assert.match(install.stdout, 'systemd is not the init of this host', 'it says why nothing was installed');
  assert.match(install.stdout, / boot$/m, 'it gives the line to run at boot');
  assert.match(install.stdout, `CORRAL_STATE_DIR=${context.sandbox.state}`, 'the line carries this Corral\'s state dir');
  assert.is(existsSync(UNIT_FILE), unitBefore, 'no unit file was written');
  const status = await cli(context, ['service', 'status']);
  assert.match(status.stdout, 'systemd is not the init of this host', `service status: ${status.stdout}${status.stderr}`);
});

boot('after a reboot, boot brings back always and running unless-stopped, with volume data, restart counts and a new supervisor', async (context) => {
  // keep/app exits 3 at its first start: the supervisor restarts it once.
  const before = await eventually(async () => {
    const rows = await psRows(context.sandbox, context.project);
    const keep = rows.get('keep/app');
    return keep?.state === 'running' && keep.restarts === 1 ? rows : undefined;
  }, 'keep/app restarted once and running', 30_000);
  const stop = await cli(context, ['-p', context.project, 'stop', STOPPED]);
  assert.is(stop.exitCode, 0, `stop fails: ${stop.stderr}`);
  const marker = String((await inside(context.sandbox, context.project, 'keep.app', `cat ${MARKER_FILE}`)).stdout).trim();
  assert.ok(marker, 'keep/app wrote its marker into the volume');
  const oldSupervisor = await supervisorPid(context);
  assert.is(before.size, 5, 'five containers before the reboot');

  await rebootProject(context.sandbox, context.project);
  assert.equal(await states(context), [], 'nothing runs after the reboot');

  const dryRun = await cli(context, ['boot', '--dry-run']);
  assert.is(dryRun.exitCode, 0, `boot --dry-run fails: ${dryRun.stderr}`);
  for (const resource of BROUGHT_BACK) assert.match(dryRun.stdout, `bring back ${resource}: `, `the dry run says ${resource} comes back:\n${dryRun.stdout}`);
  for (const resource of LEFT_DOWN) assert.match(dryRun.stdout, `leave ${resource} down: `, `the dry run says ${resource} stays down:\n${dryRun.stdout}`);
  assert.match(dryRun.stdout, `leave ${STOPPED} down: restart: unless-stopped, stopped by \`corral stop\``, 'the stopped one stays down, and why');
  assert.equal(await states(context), [], 'the dry run started nothing');

  const booted = await cli(context, ['boot']);
  assert.is(booted.exitCode, 0, `boot fails: ${booted.stdout}\n${booted.stderr}`);
  assert.equal(await states(context), BROUGHT_BACK.map((resource) => `${resource} running`), `exactly always and the running unless-stopped come back:\n${booted.stdout}`);
  const rows = await psRows(context.sandbox, context.project);
  assert.is(rows.get('keep/app')?.restarts, 1, 'keep/app\'s restart count is the one recorded before the reboot');
  assert.is(String((await inside(context.sandbox, context.project, 'keep.app', `cat ${MARKER_FILE}`)).stdout).trim(), marker, 'the volume data written before the reboot is there');
  const newSupervisor = await supervisorPid(context);
  assert.is.not(newSupervisor, oldSupervisor, 'a new supervisor follows the project');
  assert.equal(JSON.parse(await readFile(path.join(context.sandbox.state, 'projects', context.project, 'stopped.json'), 'utf8')), [STOPPED], 'the stopped one is still stopped');

  // Boot runs the applied project: what it made is what the file makes, so the next up keeps it.
  const diff = await cli(context, ['-f', context.file, '-p', context.project, 'diff']);
  assert.not.match(diff.stdout, 'recreate', `up would recreate nothing boot made:\n${diff.stdout}`);
  assert.match(diff.stdout, '2 containers up to date', `both containers boot made are up to date:\n${diff.stdout}`);

  const again = await cli(context, ['boot']);
  assert.is(again.exitCode, 0, `a second boot fails: ${again.stderr}`);
  assert.is(await supervisorPid(context), newSupervisor, 'a second boot keeps the supervisor');
  assert.equal(await states(context), BROUGHT_BACK.map((resource) => `${resource} running`), 'a second boot changes nothing');
});

boot('down takes the project out of what comes back at boot', async (context) => {
  const down = await cli(context, ['-p', context.project, 'down']);
  assert.is(down.exitCode, 0, `down fails: ${down.stderr}`);
  assert.not.ok(existsSync(recordFile(context)), 'the boot record is gone');
  const booted = await cli(context, ['boot']);
  assert.is(booted.exitCode, 0, `boot fails: ${booted.stderr}`);
  assert.match(booted.stdout, 'no project to bring back', `boot finds nothing: ${booted.stdout}`);
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.project)), 'boot made nothing of the project');
});

boot.run();
