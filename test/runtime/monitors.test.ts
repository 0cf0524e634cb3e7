import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { monitorScope, monitorsCgroup, projectSlice, systemdIsInit } from '../../src/runtime/monitors.js';
import { conmonPidOf, supervisorPid } from '../chaos/observe.js';
import { corral, createProjectSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';

// The containers' monitors (conmon, the supervisor) leave the cgroup of the command that started
// them, so that the end of that command's systemd unit or session does not kill them: here, on a
// host without systemd, into the project's monitors cgroup (the guest suite, test/hosts/, checks
// the systemd scopes).

const names = suite('monitor scopes and slices: systemd unit names');

names('a conmon scope names the project, pod, container and pid; the supervisor\'s the project and pid', () => {
  assert.is(monitorScope('shop', { kind: 'conmon', pod: 'web', container: 'app' }, 42), 'corral-shop-web-app-conmon-42.scope', 'conmon scope');
  assert.is(monitorScope('shop', { kind: 'supervisor' }, 7), 'corral-shop-supervisor-7.scope', 'supervisor scope');
});

// A dash in a slice name makes a parent slice: corral-my-shop.slice would sit in corral-my.slice.
names('the project slice escapes what systemd would read as nesting', () => {
  assert.is(projectSlice('shop'), 'corral-shop.slice', 'a plain name');
  assert.is(projectSlice('my-shop_2'), 'corral-my\\x2dshop_2.slice', 'a dash is escaped as systemd-escape does, an underscore kept');
});

names.run();

interface Context { sandbox: Sandbox; project: string; file: string }

const placed = suite<Context>('monitors leave the cgroup of the command that started them (real containers)');

/** The cgroup path of `pid` in each hierarchy, by the hierarchy's id and controllers (`4:memory`, `0:`). */
async function cgroupsOf(pid: number | 'self'): Promise<Map<string, string>> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  return new Map(lines.map((line) => {
    const [id, controllers, ...rest] = line.split(':');
    return [`${id}:${controllers}`, rest.join(':')];
  }));
}

placed.before(async (context) => {
  Object.assign(context, await createProjectSandbox('monitors'));
  await writeFile(context.file, `pods:\n  box:\n    network: none\n    containers:\n      main:\n        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}\n        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]\n`);
});

placed.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

placed('after up -d, conmon and the supervisor sit in the project\'s monitors cgroup in every hierarchy, none in the runner\'s', async (context) => {
  if (systemdIsInit()) {
    process.stdout.write('\n  systemd is init here: the monitors get scopes, which test/hosts/ checks in the guest\n');
    return;
  }
  const up = await corral(context.sandbox, ['-f', context.file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stdout}\n${up.stderr}`);
  const runner = await cgroupsOf('self');
  const expected = `/${monitorsCgroup(context.project)}`;
  const monitors = { conmon: await conmonPidOf(context.sandbox, context.project, 'box.main'), supervisor: await supervisorPid(context) };
  for (const [name, pid] of Object.entries(monitors)) {
    const cgroups = await cgroupsOf(pid);
    assert.equal([...cgroups.keys()], [...runner.keys()], `${name} (${pid}) is in the same hierarchies as the runner`);
    for (const [hierarchy, cgroup] of cgroups) {
      assert.is(cgroup, expected, `${name} (${pid}) in hierarchy ${hierarchy}: ${cgroup}`);
      assert.is.not(cgroup, runner.get(hierarchy), `${name} (${pid}) left the runner's cgroup ${runner.get(hierarchy)} in hierarchy ${hierarchy}`);
    }
  }
});

placed.run();
