import path from 'node:path';
import { execa } from 'execa';
import { corral, type Sandbox } from '../helpers/sandbox.js';
import { findLeaks } from '../helpers/leaks.js';
import type { PsRow } from '../../src/cli/ps.js';

// What every fault test asks after a crash, whatever was killed and wherever: one more `up` reaches
// the desired state, and one more `down` leaves nothing. Returned as problems (empty when all is
// well), each with the commands' own output, so that a failure message says what they said.

export interface ConvergeTarget {
  readonly sandbox: Sandbox;
  readonly project: string;
  readonly file: string;
  /** How many containers run once the project is up. */
  readonly containers: number;
  /** Pods on the project bridge: each must have its eth0 with an address again. */
  readonly bridgedPods: readonly string[];
  /** Pods on several networks: each of these interfaces must have an address again (default: eth0 of bridgedPods). */
  readonly podInterfaces?: Readonly<Record<string, readonly string[]>>;
  /** The project's named networks, whose bridges the leak check looks for too. */
  readonly networks?: readonly string[];
  /**
   * Leaks that are none here, with why: a host network the suite keeps for its next trial (its
   * record), checked when the suite removes it.
   */
  readonly expectedLeftovers?: (leak: string) => boolean;
}

/** The pod's eth0 address as seen inside its pinned network namespace, or what went wrong. */
async function podAddress(target: ConvergeTarget, pod: string, ifName = 'eth0'): Promise<{ address?: string; problem?: string }> {
  const netns = path.join(target.sandbox.run, target.project, 'pods', pod, 'ns', 'net');
  const result = await execa('nsenter', [`--net=${netns}`, 'ip', '-o', '-4', 'addr', 'show', ifName], { reject: false, timeout: 10_000 });
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(String(result.stdout))?.[1];
  return address ? { address } : { problem: `pod ${pod} has no address on ${ifName} after up: ${result.stdout}${result.stderr}` };
}

/** Runs `up -d` and `down` after a crash; the problems found, empty when both converged. */
export async function problemsAfterCrash(target: ConvergeTarget): Promise<string[]> {
  const problems: string[] = [];
  const up = await corral(target.sandbox, ['-f', target.file, '-p', target.project, 'up', '-d']);
  if (up.exitCode !== 0) problems.push(`up after the crash exits ${up.exitCode}; it said:\n${up.stdout}${up.stderr || '(nothing on stderr)\n'}`);
  const ps = await corral(target.sandbox, ['-p', target.project, 'ps', '--format', 'json']);
  const running = ps.exitCode === 0 ? (JSON.parse(ps.stdout) as PsRow[]).filter((row) => row.state === 'running').length : -1;
  if (running !== target.containers) problems.push(`${running} of ${target.containers} containers run after up; up said:\n${up.stdout}${up.stderr}ps says (exit ${ps.exitCode}):\n${ps.stdout}${ps.stderr}`);
  const interfaces = target.podInterfaces ?? Object.fromEntries(target.bridgedPods.map((pod) => [pod, ['eth0']]));
  for (const [pod, names] of Object.entries(interfaces)) {
    for (const ifName of names) {
      const { problem } = await podAddress(target, pod, ifName);
      if (problem) problems.push(`${problem}; up said:\n${up.stdout}${up.stderr}`);
    }
  }
  const down = await corral(target.sandbox, ['-p', target.project, 'down']);
  if (down.exitCode !== 0) problems.push(`down after the crash exits ${down.exitCode}; it said:\n${down.stdout}${down.stderr}`);
  const found = await findLeaks({ dirs: [target.sandbox.run, target.sandbox.state], projects: [target.project], networks: target.networks ?? [] });
  const leaks = found.filter((leak) => !target.expectedLeftovers?.(leak));
  if (leaks.length > 0) problems.push(`down left: ${leaks.join('; ')}`);
  return problems;
}
