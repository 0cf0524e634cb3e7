import { type AnyActorRef, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { Healthcheck, Probe } from '../src/project/model.js';

// The health of one running container, as docker defines it: probes every interval (every
// start_interval during start_period), `retries` failures in a row make it unhealthy, one success makes
// it healthy, and failures during start_period do not count. The probe itself is an actor the caller
// provides (the runtime's probeContainer, or a fake in tests); timers come from the actor's clock.

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** Which container the probes look at. */
export interface ProbeTarget { readonly id: string; readonly pid: number }

export interface ProbeInput { readonly probe: Probe; readonly timeoutMs: number; readonly target: ProbeTarget }

export interface HealthInput {
  readonly healthcheck: Healthcheck;
  readonly target: ProbeTarget;
  /** Who hears HEALTH events when the status changes (the container machine); none when used alone. */
  readonly reportTo?: AnyActorRef;
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
  /** Elapsed time of the start period, in ms of the actor's clock, advanced by each wait. */
  elapsedMs: number;
}

export interface HealthReport { readonly type: 'HEALTH'; readonly status: HealthStatus; readonly output: string }

export interface ProbeOutcome { readonly healthy: boolean; readonly output: string }

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
        enqueue.sendTo(context.reportTo, { type: 'HEALTH', status: context.status, output: context.lastOutput } satisfies HealthReport);
      }
    }),
  },
}).createMachine({
  id: 'health',
  context: ({ input }) => ({ healthcheck: input.healthcheck, target: input.target, reportTo: input.reportTo, status: 'starting', failures: 0, probes: 0, lastOutput: '', elapsedMs: 0 }),
  initial: 'waiting',
  states: {
    waiting: {
      after: { untilNextProbe: { target: 'probing', actions: 'advanceClock' } },
    },
    probing: {
      invoke: {
        src: 'probe',
        input: ({ context }) => ({ probe: context.healthcheck.probe, timeoutMs: context.healthcheck.timeoutMs, target: context.target }),
        onDone: {
          target: 'waiting',
          actions: enqueueActions(({ context, event, enqueue }) => {
            const previous = { status: context.status };
            enqueue({ type: 'recordResult', params: event.output });
            enqueue({ type: 'report', params: previous });
          }),
        },
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
  },
});

export type HealthMachine = typeof healthMachine;
