import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, repositoryRoot, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import { psRows } from './observe.js';

// Reconcile under load: 100 pods (CORRAL_CHAOS_PODS changes the count) on a 2-core machine come up
// with `up -d --wait` and go down without a timeout or a leak. The times are printed, not asserted,
// beside the floor's (bench/floor.sh: conmon + runc from a shell loop) for as many containers in the
// same run: this VM's speed varies several-fold with what else runs on it (a CI run once took 24.1 s
// for what a quiet run took 5.2 s), and only the ratio says what is Corral's.

const pods = Number(process.env.CORRAL_CHAOS_PODS ?? 100);

const faults = suite<{ sandbox: Sandbox; project: string; file: string }>(`faults: ${pods} pods under load`);

faults.before(async (context) => {
  Object.assign(context, await createProjectSandbox('load'));
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  const body = Array.from({ length: pods }, (_, index) => `
  p${index}:
    network: none
    containers:
      main:
        rootfs: ${rootfs}
        # A sleep that ends on SIGTERM: a bare sleep as pid 1 ignores it and costs the whole grace period.
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]`).join('');
  await writeFile(context.file, `pods:${body}\n`);
});

faults.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

faults(`${pods} pods come up with up -d --wait and go down, without a timeout or a leak`, async (context) => {
  const timeoutMs = 15 * 60_000;
  const upStarted = performance.now();
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d', '--wait'], { timeoutMs });
  const upSeconds = (performance.now() - upStarted) / 1000;
  assert.is(up.exitCode, 0, `up of ${pods} pods fails after ${upSeconds.toFixed(1)} s: ${up.stdout.slice(-2000)}\n${up.stderr.slice(-2000)}`);
  const rows = await psRows(context.sandbox, context.project);
  assert.is([...rows.values()].filter((row) => row.state === 'running').length, pods, `all ${pods} containers run`);

  const downStarted = performance.now();
  const down = await corral(context.sandbox, ['-p', context.project, 'down'], { timeoutMs });
  const downSeconds = (performance.now() - downStarted) / 1000;
  assert.is(down.exitCode, 0, `down of ${pods} pods fails after ${downSeconds.toFixed(1)} s: ${down.stderr.slice(-2000)}`);
  const leaks = await findLeaks({ dirs: [context.sandbox.run, context.sandbox.state], projects: [context.project] });
  assert.equal(leaks, [], `down of ${pods} pods left: ${leaks.join('; ')}`);
  const floor = String((await execa('bash', [path.join(repositoryRoot, 'bench/floor.sh'), context.sandbox.env.CORRAL_ROOTFS!, String(pods)])).stdout).trim().split(' ').map(Number);
  const [floorUp, floorDown] = [floor[0]!, floor[1]!];
  process.stdout.write(`\n  faults: ${pods} pods under load -> up -d --wait ${upSeconds.toFixed(1)} s (floor ${floorUp.toFixed(1)} s, ${(upSeconds / floorUp).toFixed(2)}x), down ${downSeconds.toFixed(1)} s (floor ${floorDown.toFixed(1)} s, ${(downSeconds / floorDown).toFixed(2)}x), 0 leaks\n`);
});

faults.run();
