import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import * as native from '../../src/native.js';
import { corral, createSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';

// Limits and security settings in effect, checked where a user would look: the cgroup files, and
// /proc and the filesystem from inside the container.

const limits = suite<{ sandbox: Sandbox; project: string }>('resources and security in effect');

const CAP_NET_RAW = 13n;
const CAP_SYS_TIME = 25n;

async function inside(context: { sandbox: Sandbox; project: string }, script: string) {
  const runcRoot = path.join(context.sandbox.run, context.project, 'runc');
  return execa('runc', ['--root', runcRoot, 'exec', `${context.project}.box.limited`, 'sh', '-c', script], { reject: false });
}

limits.before(async (context) => {
  context.sandbox = await createSandbox('limits');
  context.project = context.sandbox.projectName('limits');
  const file = path.join(context.sandbox.work, 'corral.yaml');
  await writeFile(file, [
    'pods:',
    '  box:',
    '    resources: { memory: 256m, pids: 200 }',
    '    containers:',
    '      limited:',
    '        rootfs: ${CORRAL_ROOTFS}',
    '        command: [sh, -c, "trap \'exit 0\' TERM; sleep 3600 & wait"]',
    '        resources: { cpus: 0.5, memory: 64m, memory_reservation: 32m, pids: 50 }',
    '        cap_drop: [NET_RAW]',
    '        cap_add: [SYS_TIME]',
    '        read_only: true',
    '        sysctls: { net.ipv4.ip_unprivileged_port_start: 80 }',
    '        ulimits: { nofile: { soft: 512, hard: 1024 } }',
    '        volumes: [{ type: tmpfs, target: /scratch }]',
    '',
  ].join('\n'));
  const up = await corral(context.sandbox, ['-f', file, '-p', context.project, 'up', '-d']);
  assert.is(up.exitCode, 0, `up fails: ${up.stderr}`);
});

limits.after((context) => downAndAssertNothingLeaks(context.sandbox, context.project));

limits('container limits are in its cgroup', (context) => {
  const cgroup = `corral/${context.project}/box/limited`;
  const read = (controller: string, file: string) => native.readCgroupFile(controller, cgroup, file).trim();
  if (native.cgroupVersion() === 1) {
    assert.is(read('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024), 'memory 64m');
    assert.is(read('memory', 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024), 'reservation 32m');
    assert.is(read('cpu', 'cpu.cfs_quota_us'), '50000', 'half a CPU');
  } else {
    assert.is(read('memory', 'memory.max'), String(64 * 1024 * 1024), 'memory 64m');
    assert.is(read('cpu', 'cpu.max'), '50000 100000', 'half a CPU');
  }
  assert.is(read('pids', 'pids.max'), '50', 'at most 50 processes');
});

limits('pod limits are in the pod cgroup, the parent of its containers', (context) => {
  const cgroup = `corral/${context.project}/box`;
  const memoryFile = native.cgroupVersion() === 1 ? 'memory.limit_in_bytes' : 'memory.max';
  assert.is(native.readCgroupFile('memory', cgroup, memoryFile).trim(), String(256 * 1024 * 1024), 'pod memory 256m');
  assert.is(native.readCgroupFile('pids', cgroup, 'pids.max').trim(), '200', 'pod pids 200');
});

limits('the container sees its own memory limit', async (context) => {
  const file = native.cgroupVersion() === 1 ? '/sys/fs/cgroup/memory/memory.limit_in_bytes' : '/sys/fs/cgroup/memory.max';
  const seen = await inside(context, `cat ${file}`);
  assert.is(seen.stdout.trim(), String(64 * 1024 * 1024), `read from inside: ${seen.stderr}`);
});

limits('capabilities: NET_RAW dropped, SYS_TIME added', async (context) => {
  const status = await inside(context, 'grep CapEff /proc/self/status');
  const effective = BigInt(`0x${status.stdout.trim().split(/\s+/)[1]}`);
  assert.is((effective >> CAP_NET_RAW) & 1n, 0n, 'no CAP_NET_RAW');
  assert.is((effective >> CAP_SYS_TIME) & 1n, 1n, 'CAP_SYS_TIME');
});

limits('read-only root, writable tmpfs, ulimit and sysctl as asked', async (context) => {
  const root = await inside(context, 'touch /new-file');
  assert.is.not(root.exitCode, 0, 'the root filesystem refuses writes');
  const scratch = await inside(context, 'touch /scratch/ok && echo written');
  assert.is(scratch.stdout.trim(), 'written', 'the tmpfs volume takes writes');
  // The container's own process: Debian's runc 1.1 sets an exec'd process's rlimits with prlimit from
  // outside, racing the Go runtime of `runc init`, which raises the soft nofile limit to the hard one
  // (runc issue 4195); the exec'd process sometimes shows 1024/1024.
  const nofile = await inside(context, "grep 'Max open files' /proc/1/limits");
  assert.equal(nofile.stdout.trim().split(/\s+/).slice(3, 5), ['512', '1024'], `soft and hard nofile: ${nofile.stdout}${nofile.stderr}`);
  const sysctl = await inside(context, 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start');
  assert.is(sysctl.stdout.trim(), '80', 'the namespaced sysctl is set in the pod network namespace');
});

limits.run();
