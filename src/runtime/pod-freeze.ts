import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from '../native.js';
import { podCgroup } from '../state/paths.js';

// A pod frozen as one (cgroup v2's freezer on the pod's cgroup, the parent of its containers'): its
// containers' processes stop together, so a checkpoint of the pod dumps them as they stood at the
// same moment, not one container seconds after the other went on talking to it. CRIU's own freeze
// of each container's cgroup inside it finds them already stopped, and puts back its own state
// (thawed) after the dump; the pod's stays frozen until every container is dumped.

/** Freezing waits for every task to stop; under emulation that takes a moment. */
const FREEZE_TIMEOUT_MS = 30_000;
const FREEZE_POLL_MS = 50;

const podCgroupDir = (project: string, pod: string) => `/sys/fs/cgroup/${podCgroup(project, pod)}`;

async function frozen(dir: string): Promise<boolean> {
  return /^frozen 1$/m.test(await readFile(`${dir}/cgroup.events`, 'utf8'));
}

/** Runs `work` with the pod's processes frozen, and thaws them afterwards whatever it did. */
export async function withPodFrozen<T>(options: { project: string; pod: string }, work: () => Promise<T>): Promise<T> {
  if (native.cgroupVersion() !== 2) {
    throw new Error(`pod ${options.pod}: its containers are frozen together only by cgroup v2's freezer, and this host has cgroup v1; checkpoint them one at a time (pod/container)`);
  }
  const dir = podCgroupDir(options.project, options.pod);
  await writeFile(`${dir}/cgroup.freeze`, '1');
  try {
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    while (!await frozen(dir)) {
      if (Date.now() > deadline) throw new Error(`pod ${options.pod}: ${dir}/cgroup.events did not say frozen within ${FREEZE_TIMEOUT_MS / 1000} s of writing 1 to cgroup.freeze`);
      await sleep(FREEZE_POLL_MS);
    }
    return await work();
  } finally {
    await writeFile(`${dir}/cgroup.freeze`, '0');
  }
}
