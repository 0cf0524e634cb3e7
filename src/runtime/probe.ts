import { readFile, stat } from 'node:fs/promises';
import { whenMissing } from '../state/read.js';
import net from 'node:net';
import { fromPromise } from 'xstate';
import { healthMachine, type ProbeInput } from '../../machines/health.js';
import type { Probe } from '../project/model.js';
import * as native from '../native.js';
import type { RuntimeContext } from './context.js';
import { type ProcStat, readProcStat } from './proc-stat.js';
import * as runc from './runc.js';

// One health probe of a running container. A command runs inside it (runc exec); TCP and HTTP probes
// are made by Corral itself from inside the container's network namespace, so they need nothing in
// the image (no curl, no wget) and see the pod's own 127.0.0.1.

export interface ProbeResult {
  readonly healthy: boolean;
  /** What the probe said: command output, HTTP status line or the connection error (at most 4 KiB). */
  readonly output: string;
  /** The process `pid` exited or was replaced (a restart in place) before the probe ended: the result is not about it. */
  readonly processGone?: true;
  /** The container was paused (frozen) when, or while, it was probed: the runtime refuses an exec into it, so the result says nothing of its health. */
  readonly paused?: true;
}

const MAX_OUTPUT = 4096;
const clip = (text: string) => (text.length > MAX_OUTPUT ? `${text.slice(0, MAX_OUTPUT)}…` : text).trim();

async function probeByCommand(context: RuntimeContext, id: string, argv: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  const result = await runc.execInContainer(context.runc, id, argv, timeoutMs);
  if (result.timedOut) return { healthy: false, output: `timed out after ${timeoutMs} ms` };
  const output = clip(String(result.all ?? ''));
  return { healthy: result.exitCode === 0, output: output || `exit code ${result.exitCode}` };
}

async function connectFromInside(pid: number, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const fd = await native.connectInNetworkNamespace(`/proc/${pid}/ns/net`, host, port, timeoutMs);
  return new net.Socket({ fd, readable: true, writable: true });
}

async function probeByHttp(pid: number, probe: Extract<Probe, { kind: 'http' }>, timeoutMs: number): Promise<ProbeResult> {
  // node:http on the first HTTP probe only: loaded up front, it weighed ~1 MB in every supervisor.
  const { default: http } = await import('node:http');
  const socket = await connectFromInside(pid, probe.host, probe.port, timeoutMs);
  return new Promise((resolve) => {
    const request = http.request({
      createConnection: () => socket, host: probe.host, port: probe.port, path: probe.path, method: 'GET',
      headers: { 'user-agent': 'corral-healthcheck', connection: 'close' }, timeout: timeoutMs,
    }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      resolve({ healthy: status >= 200 && status < 400, output: `HTTP ${status} ${response.statusMessage ?? ''}`.trim() });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ healthy: false, output: `GET ${probe.path}: ${error.message}` }));
    request.end();
  });
}

/**
 * Healthy once this process (not one before it) said READY=1, as the container's notify keeper
 * recorded it; with a watchdog, only while the record is fresh: the keeper writes it again on each
 * WATCHDOG=1 (and READY=1), so its mtime is the last ping.
 */
async function notifiedReady(context: RuntimeContext, id: string, pid: number, watchdogMs: number | undefined): Promise<ProbeResult> {
  const file = context.paths.container(id).notifyReady;
  const [said, written] = await Promise.all([readFile(file, 'utf8').catch(whenMissing('')), watchdogMs === undefined ? undefined : stat(file).catch(whenMissing(undefined))]);
  if (said.trim() !== String(pid)) return { healthy: false, output: 'no READY=1 yet on $NOTIFY_SOCKET' };
  if (watchdogMs === undefined) return { healthy: true, output: 'READY=1 received' };
  const silentMs = written ? Date.now() - written.mtimeMs : Number.POSITIVE_INFINITY;
  return silentMs <= watchdogMs
    ? { healthy: true, output: `WATCHDOG=1 ${(silentMs / 1000).toFixed(1)} s ago` }
    : { healthy: false, output: `no WATCHDOG=1 for ${(silentMs / 1000).toFixed(1)} s (WATCHDOG_USEC=${watchdogMs * 1000})` };
}

/** Neither exiting nor exited (a zombie, or dead). */
const isLive = (stat: ProcStat) => !stat.exiting && stat.state !== 'Z' && stat.state !== 'X';

/** Whether the process is still the one `before` was read from: live, its pid not reused. */
function stillRuns(pid: number, before: ProcStat): boolean {
  const now = readProcStat(pid);
  return now !== undefined && isLive(now) && now.start === before.start;
}

/**
 * Runs one probe against the container `id` whose init process is `pid`. Never throws: a failure is
 * unhealthy, except where the container is paused (`paused`): an exec into it is refused at once,
 * and counted, the failure would make `corral pause` restart a container with a healthcheck. A probe that overlaps the end of `pid` fails for that reason alone (the kernel kills a
 * `runc exec` in a pid namespace whose first process exits; a command probe after it would run in
 * the next process): when `pid` is exiting or gone by the end of the probe, the result says so
 * (`processGone`) instead of counting against either process.
 */
export async function probeContainer(context: RuntimeContext, input: ProbeInput): Promise<ProbeResult> {
  const { pid } = input.target;
  const before = readProcStat(pid);
  if (!before || !isLive(before)) return { healthy: false, output: `process ${pid} is gone`, processGone: true };
  const result = await probeOnce(context, input);
  if (!stillRuns(pid, before)) return { ...result, processGone: true };
  // Paused before or while it was probed (`corral pause` between two looks of the supervisor): no
  // verdict. Looked at only after a failure, so a passing probe costs no read of the runtime's state.
  return !result.healthy && (await isPaused(context, input.target.id)) ? { ...result, paused: true } : result;
}

/** Whether the container is frozen (read from runc's state file, no runc process). */
async function isPaused(context: RuntimeContext, id: string): Promise<boolean> {
  return (await runc.containerStateQuickly(context.runc, id))?.status === 'paused';
}

async function probeOnce(context: RuntimeContext, { probe, timeoutMs, target: { id, pid } }: ProbeInput): Promise<ProbeResult> {
  try {
    if (probe.kind === 'exec') return await probeByCommand(context, id, probe.argv, timeoutMs);
    if (probe.kind === 'http') return await probeByHttp(pid, probe, timeoutMs);
    if (probe.kind === 'notify') return await notifiedReady(context, id, pid, probe.watchdogMs);
    (await connectFromInside(pid, probe.host, probe.port, timeoutMs)).destroy();
    return { healthy: true, output: `connected to ${probe.host}:${probe.port}` };
  } catch (error) {
    return { healthy: false, output: clip((error as Error).message) };
  }
}

/** The health machine with the real probe behind it. */
export function probingHealthMachine(context: RuntimeContext) {
  return healthMachine.provide({
    actors: {
      probe: fromPromise(({ input }: { input: ProbeInput }) => probeContainer(context, input)),
    },
  });
}
