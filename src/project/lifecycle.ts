import type { Container, Dependency, DependencyCondition, Healthcheck, Lifecycle, Pod, Probe, RestartPolicy } from './model.js';
import type { ParsedFile, PathSegment } from './parse.js';
import { errorAt } from './parse.js';
import { findCycle } from './graph.js';

// restart, stop_signal, stop_grace_period, healthcheck and depends_on: how a container lives beside
// the others. Names in depends_on are resolved against the whole project once every pod is known.

type Raw = Record<string, unknown>;

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1m30s`, `500ms`, `10s` or a number of seconds, in milliseconds. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  let total = 0;
  for (const [, amount, unit] of String(value).matchAll(/([0-9.]+)(ns|us|ms|s|m|h)/g)) total += Number(amount) * DURATION_UNITS_MS[unit];
  return Math.round(total);
}

function restartOf(value: unknown): RestartPolicy {
  const [name, max] = String(value ?? 'no').split(':') as [RestartPolicy['name'], string?];
  return max === undefined ? { name } : { name, maxRetries: Number(max) };
}

function probeOf(raw: Raw): Probe | undefined {
  if (raw.notify === true) return raw.watchdog === undefined ? { kind: 'notify' } : { kind: 'notify', watchdogMs: parseDuration(raw.watchdog) };
  if (raw.tcp) {
    const tcp = raw.tcp as Raw;
    return { kind: 'tcp', host: String(tcp.host ?? '127.0.0.1'), port: Number(tcp.port) };
  }
  if (raw.http) {
    const http = raw.http as Raw;
    return { kind: 'http', host: String(http.host ?? '127.0.0.1'), port: Number(http.port), path: String(http.path ?? '/') };
  }
  // compose's forms: a string is run by the shell, a list says how (CMD, CMD-SHELL or NONE).
  const test = typeof raw.test === 'string' ? ['CMD-SHELL', raw.test] : (raw.test as string[] | undefined);
  if (!test || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD-SHELL') return { kind: 'exec', argv: ['/bin/sh', '-c', test.slice(1).join(' ')] };
  return { kind: 'exec', argv: test.slice(1) };
}

/** compose's defaults for a probe. */
const PROBE_DEFAULTS = { intervalMs: 30_000, startPeriodMs: 0, startIntervalMs: 5000 };
/**
 * sd_notify: starting until READY=1 however long that takes (a start_period bounds it), seen within
 * 100 ms; then looked at every second (only a restart, a new process, undoes READY=1).
 */
const NOTIFY_DEFAULTS = { intervalMs: 1000, startPeriodMs: 365 * 24 * 3_600_000, startIntervalMs: 100 };

function healthcheckOf(raw: Raw | undefined, at: PathSegment[], parsed: ParsedFile): Healthcheck | undefined {
  if (!raw || raw.disable === true) return undefined;
  const probe = probeOf(raw);
  if (!probe) {
    if (raw.test !== undefined) return undefined;
    throw errorAt(parsed, at, 'healthcheck has no probe', 'add test: (a command), tcp: {port}, http: {port, path} or notify: true, or disable: true', { key: true });
  }
  if (probe.kind === 'exec' && probe.argv.length === 0) throw errorAt(parsed, [...at, 'test'], 'healthcheck test has no command', 'write the command after CMD, e.g. ["CMD", "wget", "-q", "-O-", "http://127.0.0.1/"]');
  // A notify probe is a file read: looked at often, and not ready (rather than failing) until READY=1.
  const defaults = probe.kind === 'notify' ? NOTIFY_DEFAULTS : PROBE_DEFAULTS;
  return {
    probe,
    intervalMs: raw.interval === undefined ? defaults.intervalMs : parseDuration(raw.interval),
    timeoutMs: raw.timeout === undefined ? 30_000 : parseDuration(raw.timeout),
    retries: (raw.retries as number | undefined) ?? 3,
    startPeriodMs: raw.start_period === undefined ? defaults.startPeriodMs : parseDuration(raw.start_period),
    startIntervalMs: raw.start_interval === undefined ? defaults.startIntervalMs : parseDuration(raw.start_interval),
  };
}

/** A depends_on entry as written, before names are resolved to containers. */
export interface DependencyRequest {
  readonly name: string;
  readonly condition: DependencyCondition;
  readonly required: boolean;
  readonly at: PathSegment[];
  /** Errors point at the key (mapping form) rather than the value (list form). */
  readonly atKey: boolean;
}

const CONDITIONS: Record<string, DependencyCondition> = {
  service_started: 'started', service_healthy: 'healthy', service_completed_successfully: 'completed',
};

export function dependencyRequestsOf(raw: unknown, at: PathSegment[]): DependencyRequest[] {
  if (!raw) return [];
  if (Array.isArray(raw)) return raw.map((name, index) => ({ name: String(name), condition: 'started', required: true, at: [...at, index], atKey: false }));
  return Object.entries(raw as Record<string, Raw>).map(([name, options]) => ({
    name,
    condition: CONDITIONS[String(options?.condition ?? 'service_started')],
    required: options?.required !== false,
    at: [...at, name],
    atKey: true,
  }));
}

/** The container's lifecycle without its dependencies (see linkDependencies). */
export function lifecycleOf(raw: Raw, podRaw: Raw, at: PathSegment[], parsed: ParsedFile): Lifecycle {
  const signal = String(raw.stop_signal ?? 'TERM').replace(/^SIG/, '');
  return {
    restart: restartOf(raw.restart ?? podRaw.restart),
    stopSignal: signal,
    stopGraceMs: raw.stop_grace_period === undefined ? 10_000 : parseDuration(raw.stop_grace_period),
    healthcheck: healthcheckOf(raw.healthcheck as Raw | undefined, [...at, 'healthcheck'], parsed),
    dependsOn: [],
  };
}

/**
 * Resolves every container's depends_on requests (pod names stand for all their containers) and
 * refuses unknown names, dependencies on oneself and cycles, each at the entry that causes it.
 * Fills `lifecycle.dependsOn` of the (not yet frozen) containers.
 */
export function linkDependencies(pods: readonly Pod[], requests: ReadonlyMap<Container, readonly DependencyRequest[]>, parsed: ParsedFile): void {
  const containersOfPod = new Map(pods.map((pod) => [pod.name, pod.containers.map((container) => `${pod.name}/${container.name}`)]));
  const known = new Set([...containersOfPod.values()].flat());
  const edges = new Map<string, string[]>();
  const entryOf = new Map<string, PathSegment[]>();
  for (const [container, list] of requests) {
    const self = `${container.pod}/${container.name}`;
    const dependencies = new Map<string, Dependency>();
    for (const request of list) {
      const targets = request.name.includes('/') ? (known.has(request.name) ? [request.name] : []) : (containersOfPod.get(request.name) ?? []);
      if (targets.length === 0) {
        if (!request.required) continue;
        const kind = request.name.includes('/') ? 'container' : 'pod';
        throw errorAt(parsed, request.at, `depends_on names ${kind} '${request.name}', which is not in the project`, `use a pod name or pod/container of this file (${[...containersOfPod.keys()].join(', ')}), or set required: false`, { key: request.atKey });
      }
      for (const target of targets) {
        if (target === self) continue;
        dependencies.set(target, { resource: target, condition: request.condition });
        entryOf.set(`${self}>${target}`, request.at);
      }
      if (targets.every((target) => target === self)) throw errorAt(parsed, request.at, `${self} depends on itself`, 'remove this entry');
    }
    const sorted = [...dependencies.values()].sort((a, b) => (a.resource < b.resource ? -1 : 1));
    (container.lifecycle as { dependsOn: readonly Dependency[] }).dependsOn = sorted;
    edges.set(self, sorted.map((dependency) => dependency.resource));
  }
  const cycle = findCycle(edges);
  if (cycle) {
    throw errorAt(parsed, entryOf.get(`${cycle[0]}>${cycle[1]}`) ?? [], `dependency cycle: ${cycle.join(' → ')}`, 'remove one depends_on entry of the cycle');
  }
}
