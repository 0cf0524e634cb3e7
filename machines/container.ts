import { and, assign, fromPromise, setup } from 'xstate';
import type { Healthcheck, RestartPolicy } from '../src/project/model.js';
import { healthMachine, type HealthReport, type HealthStatus } from './health.js';

// The life of one container, as the reconciler sees it. The machine holds what is wanted (DESIRED) and
// what was last seen (OBSERVED), and moves the container towards the wish through the runtime actors.
// It also decides restarts: the restart policy, CrashLoopBackOff-style delays (doubling from a base
// to a cap, reset once a run lasted long enough) and restarts of a container that turned unhealthy.
// Health is about one process: whenever the container gets a new one (a restart in place, a start
// after a stop, a restart by the policy, a recreate) it is `starting` again and its start period
// counts from that process's start, as in docker and the kubelet.
// The actors are placeholders here: the reconciler provides the real ones (runc + conmon), tests
// provide fakes, so this file is the specification of a container's life and nothing else.

export type DesiredState = 'running' | 'stopped' | 'removed';
export type ObservedStatus = 'absent' | 'created' | 'running' | 'paused' | 'exited';

export interface BackoffSettings {
  readonly baseMs: number;
  readonly maxMs: number;
  /** A run at least this long resets the delay to baseMs. */
  readonly resetAfterMs: number;
}

/** The kubelet's figures: 10 s doubling to 5 min, reset after 10 min running. */
export const KUBELET_BACKOFF: BackoffSettings = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export interface ContainerMachineInput {
  /** runc id, `project.pod.container`. */
  readonly id: string;
  /** What users call it: `pod/container`. */
  readonly resource: string;
  readonly restart?: RestartPolicy;
  readonly healthcheck?: Healthcheck;
  readonly backoff?: BackoffSettings;
  /** Carried over from a persisted snapshot when a new supervisor takes over. */
  readonly restartCount?: number;
  readonly backoffMs?: number;
  /** What the previous supervisor knew of the health of process `pid`: kept while that process runs. */
  readonly health?: { readonly status: HealthStatus; readonly output?: string; readonly pid: number };
}

export interface ContainerContext {
  readonly id: string;
  readonly resource: string;
  desired: DesiredState;
  /** Config hash the container should have. */
  desiredHash?: string;
  /** Config hash of the container that exists, if any. */
  observedHash?: string;
  pid?: number;
  exitCode?: number;
  /** The runtime's message when a step failed. */
  error?: string;
  readonly restart: RestartPolicy;
  readonly healthcheck?: Healthcheck;
  readonly backoff: BackoffSettings;
  restartCount: number;
  /** The delay before the next restart. */
  backoffMs: number;
  health?: HealthStatus;
  /** What the last health probe said. */
  healthOutput?: string;
  /** The process `health` is about; a process other than this one has not been judged yet. */
  healthPid?: number;
  /** How long the process had run when it was last observed (0 when this machine started it). */
  runningForMs?: number;
  /**
   * The wish changed and nothing was observed since. Whoever changed it acts on it (`corral start`
   * or `restore` starts the container, `stop` and `checkpoint` stop it), so an exited container
   * whose wish just turned to running is not a crash: the restart policy waits for the next look.
   */
  wishUnseen?: boolean;
}

export type ContainerEvent =
  | { type: 'DESIRED'; state: DesiredState; hash?: string }
  /** `ranForMs`: how long the run that ended lasted, when known (resets the backoff); `runningForMs`: how long the process that runs has. */
  | { type: 'OBSERVED'; status: ObservedStatus; hash?: string; pid?: number; exitCode?: number; ranForMs?: number; runningForMs?: number }
  /** Start an exited container again, in place. */
  | { type: 'START' }
  /** Restart it now, running or not (`corral restart`). */
  | { type: 'RESTART' }
  | HealthReport;

/** `pid`: for a restart, the process it was decided for (none when the container had exited). */
export interface ActorInput { readonly id: string; readonly hash?: string; readonly pid?: number }

/** Whether the policy restarts a container that exited with `exitCode` after `restartCount` restarts. */
export function policyRestarts(policy: RestartPolicy, exitCode: number | undefined, restartCount: number): boolean {
  if (policy.name === 'always' || policy.name === 'unless-stopped') return true;
  if (policy.name !== 'on-failure' || exitCode === 0) return false;
  return policy.maxRetries === undefined || restartCount < policy.maxRetries;
}

const unprovided = (step: string) => fromPromise<never, ActorInput>(async () => {
  throw new Error(`the ${step} actor was not provided to the container machine`);
});

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const containerMachine = setup({
  types: {
    context: {} as ContainerContext,
    events: {} as ContainerEvent,
    input: {} as ContainerMachineInput,
  },
  actors: {
    createContainer: fromPromise<{ pid: number }, ActorInput>(unprovided('createContainer') as never),
    startContainer: fromPromise<void, ActorInput>(unprovided('startContainer') as never),
    stopContainer: fromPromise<{ exitCode?: number }, ActorInput>(unprovided('stopContainer') as never),
    removeContainer: fromPromise<void, ActorInput>(unprovided('removeContainer') as never),
    restartContainer: fromPromise<{ pid: number }, ActorInput>(unprovided('restartContainer') as never),
    health: healthMachine,
  },
  delays: {
    backoff: ({ context }) => context.backoffMs,
  },
  guards: {
    wantsRunning: ({ context }) => context.desired === 'running',
    wantsRemoved: ({ context }) => context.desired === 'removed',
    wantsStopped: ({ context }) => context.desired === 'stopped',
    hasHealthcheck: ({ context }) => context.healthcheck !== undefined,
    shouldRestart: ({ context }) => context.desired === 'running' && !context.wishUnseen && policyRestarts(context.restart, context.exitCode, context.restartCount),
    // A liveness failure counts like a failed exit: restarted unless the policy is `no` or used up.
    restartsWhenUnhealthy: ({ context, event }) => event.type === 'HEALTH' && event.status === 'unhealthy'
      && context.desired === 'running' && policyRestarts(context.restart, 1, context.restartCount),
    // A report from the watcher of an earlier process (one sent just before the new process was seen).
    aboutCurrentProcess: ({ context, event }) => event.type === 'HEALTH' && event.pid === context.pid,
    seenNewProcess: ({ context, event }) => event.type === 'OBSERVED' && event.status === 'running' && event.pid !== undefined && event.pid !== context.pid,
    isOutdated: ({ context }) => context.desired === 'running' && context.desiredHash !== undefined && context.desiredHash !== context.observedHash,
    asksRemoval: ({ event }) => event.type === 'DESIRED' && event.state === 'removed',
    seenAbsent: ({ event }) => event.type === 'OBSERVED' && event.status === 'absent',
    seenCreated: ({ event }) => event.type === 'OBSERVED' && event.status === 'created',
    seenRunning: ({ event }) => event.type === 'OBSERVED' && event.status === 'running',
    seenPaused: ({ event }) => event.type === 'OBSERVED' && event.status === 'paused',
    seenExited: ({ event }) => event.type === 'OBSERVED' && event.status === 'exited',
  },
  actions: {
    recordDesired: assign(({ context, event }) => {
      if (event.type !== 'DESIRED') return {};
      return { desired: event.state, desiredHash: event.hash ?? context.desiredHash, wishUnseen: context.wishUnseen || event.state !== context.desired };
    }),
    recordObserved: assign(({ context, event }) => {
      if (event.type !== 'OBSERVED') return {};
      const longRun = event.ranForMs !== undefined && event.ranForMs >= context.backoff.resetAfterMs;
      return {
        observedHash: event.hash ?? context.observedHash, pid: event.pid, exitCode: event.exitCode, runningForMs: event.runningForMs, wishUnseen: false,
        backoffMs: longRun ? context.backoff.baseMs : context.backoffMs,
      };
    }),
    recordCreated: assign(({ context }, output: { pid: number }) => ({ pid: output.pid, observedHash: context.desiredHash, exitCode: undefined, error: undefined, runningForMs: 0 })),
    recordRestarted: assign((_, output: { pid: number }) => ({ pid: output.pid, exitCode: undefined, error: undefined, runningForMs: 0 })),
    countRestart: assign(({ context }) => ({ restartCount: context.restartCount + 1, backoffMs: Math.min(context.backoffMs * 2, context.backoff.maxMs) })),
    recordHealth: assign(({ event }) => (event.type === 'HEALTH' ? { health: event.status, healthOutput: event.output, healthPid: event.pid } : {})),
    // Entering `running`: a process not judged yet starts over at `starting`, whatever the one before
    // it was; the same process (seen again after a detour, or by a supervisor taking over) keeps its status.
    judgeNewProcessAfresh: assign(({ context }) => {
      if (context.health !== undefined && context.healthPid === context.pid) return {};
      return { health: context.healthcheck ? 'starting' as const : undefined, healthOutput: undefined, healthPid: context.pid };
    }),
    recordExit: assign((_, output: { exitCode?: number }) => ({ exitCode: output.exitCode, pid: undefined })),
    forgetContainer: assign({ observedHash: undefined, pid: undefined, exitCode: undefined }),
    recordFailure: assign((_, params: { error: unknown }) => ({ error: messageOf(params.error) })),
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => {
    const backoff = input.backoff ?? KUBELET_BACKOFF;
    return {
      id: input.id, resource: input.resource, desired: 'running', restart: input.restart ?? { name: 'no' }, healthcheck: input.healthcheck,
      backoff, restartCount: input.restartCount ?? 0, backoffMs: input.backoffMs ?? backoff.baseMs,
      ...(input.health && input.healthcheck ? { health: input.health.status, healthOutput: input.health.output, healthPid: input.health.pid } : {}),
    };
  },
  initial: 'unknown',
  on: {
    DESIRED: { actions: 'recordDesired' },
  },
  states: {
    // Nothing is known until the first observation says what exists.
    unknown: {
      on: {
        OBSERVED: [
          { guard: 'seenRunning', target: 'running', actions: 'recordObserved' },
          { guard: 'seenPaused', target: 'paused', actions: 'recordObserved' },
          { guard: 'seenCreated', target: 'created', actions: 'recordObserved' },
          { guard: 'seenExited', target: 'exited', actions: 'recordObserved' },
          { target: 'absent', actions: 'recordObserved' },
        ],
      },
    },
    absent: {
      always: [
        { guard: 'wantsRemoved', target: 'removed' },
        { guard: 'wantsRunning', target: 'creating' },
      ],
    },
    creating: {
      invoke: {
        src: 'createContainer',
        input: ({ context }) => ({ id: context.id, hash: context.desiredHash }),
        onDone: { target: 'created', actions: { type: 'recordCreated', params: ({ event }) => event.output } },
        onError: { target: 'failed', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    created: {
      always: [
        { guard: 'wantsRemoved', target: 'removing' },
        { guard: 'isOutdated', target: 'removing' },
        { guard: 'wantsStopped', target: 'stopping' },
        { guard: 'wantsRunning', target: 'starting' },
      ],
    },
    starting: {
      invoke: {
        src: 'startContainer',
        input: ({ context }) => ({ id: context.id }),
        onDone: { target: 'running' },
        onError: { target: 'failed', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    running: {
      tags: ['settled'],
      entry: 'judgeNewProcessAfresh',
      always: [
        { guard: 'wantsRemoved', target: 'stopping' },
        { guard: 'isOutdated', target: 'stopping' },
        { guard: 'wantsStopped', target: 'stopping' },
      ],
      initial: 'choosing',
      states: {
        choosing: {
          always: [{ guard: 'hasHealthcheck', target: 'checked' }, { target: 'unchecked' }],
        },
        checked: {
          invoke: {
            src: 'health',
            input: ({ context, self }) => ({
              healthcheck: context.healthcheck!, reportTo: self, target: { id: context.id, pid: context.pid ?? 0 },
              runningForMs: context.runningForMs, knownStatus: context.health,
            }),
          },
        },
        unchecked: {},
      },
      on: {
        HEALTH: [
          { guard: and(['aboutCurrentProcess', 'restartsWhenUnhealthy']), target: 'restarting', actions: ['recordHealth', 'countRestart'] },
          { guard: 'aboutCurrentProcess', actions: 'recordHealth' },
        ],
        RESTART: { target: 'restarting' },
        OBSERVED: [
          // Someone else (`corral restart`, `start`) replaced the process: its health is watched anew.
          { guard: 'seenNewProcess', target: 'running', reenter: true, actions: 'recordObserved' },
          { guard: 'seenPaused', target: 'paused', actions: 'recordObserved' },
          { guard: 'seenExited', target: 'exited', actions: 'recordObserved' },
          { guard: 'seenAbsent', target: 'absent', actions: 'forgetContainer' },
          { actions: 'recordObserved' },
        ],
      },
    },
    // Frozen by `corral pause`: not probed (the health watcher went with `running`) and not restarted;
    // it goes back to `running` when seen thawed (the same process keeps its health status). Stopping,
    // removing or restarting it thaws it first (the runtime does).
    paused: {
      tags: ['settled'],
      always: [
        { guard: 'wantsRemoved', target: 'stopping' },
        { guard: 'isOutdated', target: 'stopping' },
        { guard: 'wantsStopped', target: 'stopping' },
      ],
      on: {
        RESTART: { target: 'restarting' },
        OBSERVED: [
          { guard: 'seenRunning', target: 'running', actions: 'recordObserved' },
          { guard: 'seenExited', target: 'exited', actions: 'recordObserved' },
          { guard: 'seenAbsent', target: 'absent', actions: 'forgetContainer' },
          { actions: 'recordObserved' },
        ],
      },
    },
    stopping: {
      invoke: {
        src: 'stopContainer',
        input: ({ context }) => ({ id: context.id }),
        onDone: { target: 'exited', actions: { type: 'recordExit', params: ({ event }) => event.output } },
        onError: { target: 'failed', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    // Exited by itself or stopped by us. The restart policy decides whether it comes back (after the
    // backoff delay); otherwise it stays so unless it is to be removed, changed, or started again.
    exited: {
      tags: ['settled'],
      always: [
        { guard: 'wantsRemoved', target: 'removing' },
        { guard: 'isOutdated', target: 'removing' },
        { guard: 'shouldRestart', target: 'backoff' },
      ],
      on: {
        START: { target: 'restarting' },
        RESTART: { target: 'restarting' },
        OBSERVED: [
          { guard: 'seenAbsent', target: 'absent', actions: 'forgetContainer' },
          { guard: 'seenRunning', target: 'running', actions: 'recordObserved' },
          { actions: 'recordObserved' },
        ],
      },
    },
    // Waiting out the restart delay (CrashLoopBackOff); a change of wish or a restart by someone else
    // ends the wait early.
    backoff: {
      tags: ['settled'],
      always: [
        { guard: 'wantsRemoved', target: 'removing' },
        { guard: 'isOutdated', target: 'removing' },
        { guard: 'wantsStopped', target: 'exited' },
      ],
      after: { backoff: { target: 'restarting', actions: 'countRestart' } },
      on: {
        START: { target: 'restarting' },
        RESTART: { target: 'restarting' },
        OBSERVED: [
          { guard: 'seenRunning', target: 'running', actions: 'recordObserved' },
          { guard: 'seenAbsent', target: 'absent', actions: 'forgetContainer' },
          { actions: 'recordObserved' },
        ],
      },
    },
    restarting: {
      invoke: {
        src: 'restartContainer',
        input: ({ context }) => ({ id: context.id, pid: context.pid }),
        onDone: { target: 'running', actions: { type: 'recordRestarted', params: ({ event }) => event.output } },
        onError: { target: 'failed', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    removing: {
      invoke: {
        src: 'removeContainer',
        input: ({ context }) => ({ id: context.id }),
        onDone: { target: 'absent', actions: 'forgetContainer' },
        onError: { target: 'failed', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    // A step failed; the error stays in context for the CLI. Only a new wish moves it on (never a loop of
    // retries on its own): a wish to remove it cleans up whatever the failed step left.
    failed: {
      tags: ['settled'],
      on: {
        DESIRED: [
          { guard: 'asksRemoval', target: 'removing', actions: 'recordDesired' },
          { actions: 'recordDesired' },
        ],
        // The supervisor keeps observing: a container that someone else brought back is followed again.
        OBSERVED: [
          { guard: 'seenRunning', target: 'running', actions: 'recordObserved' },
          { guard: 'seenPaused', target: 'paused', actions: 'recordObserved' },
          { guard: 'seenExited', target: 'exited', actions: 'recordObserved' },
        ],
      },
    },
    removed: {
      tags: ['settled'],
      type: 'final',
    },
  },
});

export type ContainerMachine = typeof containerMachine;

/** The top-level state's name (`running` rather than `{ running: 'checked' }`). */
export function topState(snapshot: { value: unknown }): string {
  return typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value as object)[0] ?? '';
}
