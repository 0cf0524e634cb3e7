import { appendFileSync } from 'node:fs';

// Crashes on purpose, for the fault tests: a kill -9, an OOM kill or a power cut can stop Corral
// between any two steps, and the next `up` or `down` must still converge. A timer hits such a moment
// by luck; a named crash point hits it every time.
//
// CORRAL_CRASH_AT=NAME[#N] makes this process SIGKILL itself the Nth time (default: the first) it
// reaches the point NAME. CORRAL_CRASH_POINTS=FILE appends every point reached to FILE, one per line,
// so a test can list the moments of a command and then crash it at each one. Both are taken out of
// the environment when this module loads, so the processes Corral starts (a supervisor, conmon)
// never inherit them; the CLI loads it first thing.

interface CrashPlan {
  readonly name?: string;
  readonly occurrence: number;
  readonly recordTo?: string;
}

function takeCrashPlanFromEnvironment(): CrashPlan | undefined {
  const at = process.env.CORRAL_CRASH_AT;
  const recordTo = process.env.CORRAL_CRASH_POINTS;
  delete process.env.CORRAL_CRASH_AT;
  delete process.env.CORRAL_CRASH_POINTS;
  if (!at && !recordTo) return undefined;
  const [name, occurrence] = (at ?? '').split('#');
  return { name: name || undefined, occurrence: Number(occurrence ?? 1), recordTo };
}

const plan = takeCrashPlanFromEnvironment();
const reached = new Map<string, number>();

/** Marks a moment between two steps that a crash may fall on; free unless a fault test asks. */
export function crashPoint(name: string): void {
  if (!plan) return;
  const count = (reached.get(name) ?? 0) + 1;
  reached.set(name, count);
  if (plan.recordTo) appendFileSync(plan.recordTo, `${name}\n`);
  if (name === plan.name && count === plan.occurrence) process.kill(process.pid, 'SIGKILL');
}
