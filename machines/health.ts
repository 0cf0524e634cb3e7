import { type AnyActorRef, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { Healthcheck, Probe } from '../src/project/model.js';

// The health of one running process of a container, as docker defines it: probes every interval
// (every start_interval during start_period), `retries` failures in a row make it unhealthy, one
// success makes it healthy, and failures during start_period do not count. The start period counts
// from the process's start (docker's StartedAt), not from when this machine began watching. Health is
// about one process: a probe that finds its process gone (exited, or replaced by a restart) says
// nothing about it, and the machine stops; whoever watches the container starts a new one for the
// next process. The probe itself is an actor the caller provides (the runtime's probeContainer, or a
// fake in tests); timers come from the actor's clock.

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** Which container the probes look at, and which of its processes. */
export interface ProbeTarget { readonly id: string; readonly pid: number }

export interface ProbeInput { readonly probe: Probe; readonly timeoutMs: number; readonly target: ProbeTarget }

export interface HealthInput {
  readonly healthcheck: Healthcheck;
  readonly target: ProbeTarget;
  /** Who hears HEALTH events when the status changes (the container machine); none when used alone. */
  readonly reportTo?: AnyActorRef;
  /** How long the target process has run when watching begins (a supervisor that takes over a running container); default 0. */
  readonly runningForMs?: number;
  /** What an earlier watcher concluded about this same process (a supervisor taking over); default starting. */
  readonly knownStatus?: HealthStatus;
}

export interface HealthContext {
  readonly healthcheck: Healthcheck;
  readonly target: ProbeTarget;
  readonly reportTo?: AnyActorRef;
  status: HealthStatus;
  /** Failures in a row that counted. */
  failures: number;
  probes: number;
  lastOutput: string;
  /** How long the process has run, in ms: runningForMs at the start, then advanced by each wait on the actor's clock. */
  elapsedMs: number;
}

/** `pid`: the process the status is about, so that a listener can tell it from a newer one. */
export interface HealthReport { readonly type: 'HEALTH'; readonly status: HealthStatus; readonly output: string; readonly pid: number }

export interface ProbeOutcome {
  readonly healthy: boolean;
  readonly output: string;
  /** The target process exited or was replaced while (or before) it was probed: the outcome is about no process this machine watches. */
  readonly processGone?: true;
  /** The container was paused while (or before) it was probed: no verdict; the next probe comes after the usual wait. */
  readonly paused?: true;
}

const inStartPeriod = (context: HealthContext) => context.elapsedMs < context.healthcheck.startPeriodMs && context.status === 'starting';
const waitOf = (context: HealthContext) => (inStartPeriod(context) ? context.healthcheck.startIntervalMs : context.healthcheck.intervalMs);

export const healthMachine = setup({
  types: {
    context: {} as HealthContext,
    input: {} as HealthInput,
  },
  actors: {
    probe: fromPromise<ProbeOutcome, ProbeInput>(async () => {
      throw new Error('the probe actor was not provided to the health machine');
    }),
  },
  delays: {
    untilNextProbe: ({ context }) => waitOf(context),
  },
  guards: {
    processGone: (_, outcome: ProbeOutcome) => outcome.processGone === true,
    paused: (_, outcome: ProbeOutcome) => outcome.paused === true,
  },
  actions: {
    recordResult: assign(({ context }, outcome: ProbeOutcome) => {
      const counts = !outcome.healthy && !inStartPeriod(context);
      const failures = outcome.healthy ? 0 : context.failures + (counts ? 1 : 0);
      const status: HealthStatus = outcome.healthy ? 'healthy' : failures >= context.healthcheck.retries ? 'unhealthy' : context.status;
      return { status, failures, probes: context.probes + 1, lastOutput: outcome.output };
    }),
    advanceClock: assign(({ context }) => ({ elapsedMs: context.elapsedMs + waitOf(context) })),
    report: enqueueActions(({ context, enqueue }, previous: { status: HealthStatus }) => {
      if (context.reportTo && context.status !== previous.status) {
        enqueue.sendTo(context.reportTo, { type: 'HEALTH', status: context.status, output: context.lastOutput, pid: context.target.pid } satisfies HealthReport);
      }
    }),
  },
}).createMachine({
  id: 'health',
  context: ({ input }) => {
    const status = input.knownStatus ?? 'starting';
    // An unhealthy process stays so until a probe passes: its failing streak is at least `retries`.
    const failures = status === 'unhealthy' ? input.healthcheck.retries : 0;
    return { healthcheck: input.healthcheck, target: input.target, reportTo: input.reportTo, status, failures, probes: 0, lastOutput: '', elapsedMs: input.runningForMs ?? 0 };
  },
  initial: 'waiting',
  states: {
    waiting: {
      after: { untilNextProbe: { target: 'probing', actions: 'advanceClock' } },
    },
    probing: {
      invoke: {
        src: 'probe',
        input: ({ context }) => ({ probe: context.healthcheck.probe, timeoutMs: context.healthcheck.timeoutMs, target: context.target }),
        onDone: [
          { guard: { type: 'processGone', params: ({ event }) => event.output }, target: 'processGone' },
          { guard: { type: 'paused', params: ({ event }) => event.output }, target: 'waiting' },
          {
            target: 'waiting',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const previous = { status: context.status };
              enqueue({ type: 'recordResult', params: event.output });
              enqueue({ type: 'report', params: previous });
            }),
          },
        ],
        onError: {
          target: 'waiting',
          actions: enqueueActions(({ context, event, enqueue }) => {
            const previous = { status: context.status };
            enqueue({ type: 'recordResult', params: { healthy: false, output: String((event.error as Error)?.message ?? event.error) } });
            enqueue({ type: 'report', params: previous });
          }),
        },
      },
    },
    // The process is gone: nothing more to say about it (a failure counted now would be held against
    // the container's next process, inside what is its start period).
    processGone: {
      type: 'final',
    },
  },
});

export type HealthMachine = typeof healthMachine;
