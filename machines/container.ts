import { assign, fromPromise, setup } from 'xstate';

// The life of one container, as the reconciler sees it. The machine holds what is wanted (DESIRED) and
// what was last seen (OBSERVED), and moves the container towards the wish through the runtime actors.
// The actors are placeholders here: the reconciler provides the real ones (runc + conmon), tests
// provide fakes, so this file is the specification of a container's life and nothing else.

export type DesiredState = 'running' | 'removed';
export type ObservedStatus = 'absent' | 'created' | 'running' | 'exited';

export interface ContainerMachineInput {
  /** runc id, `project.pod.container`. */
  readonly id: string;
  /** What users call it: `pod/container`. */
  readonly resource: string;
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
}

export type ContainerEvent =
  | { type: 'DESIRED'; state: DesiredState; hash?: string }
  | { type: 'OBSERVED'; status: ObservedStatus; hash?: string; pid?: number; exitCode?: number }
  /** Start an exited container again (the runtime cannot restart one in place, so this recreates it). */
  | { type: 'START' };

export interface ActorInput { readonly id: string; readonly hash?: string }

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
  },
  guards: {
    wantsRunning: ({ context }) => context.desired === 'running',
    wantsRemoved: ({ context }) => context.desired === 'removed',
    isOutdated: ({ context }) => context.desired === 'running' && context.desiredHash !== undefined && context.desiredHash !== context.observedHash,
    asksRemoval: ({ event }) => event.type === 'DESIRED' && event.state === 'removed',
    seenAbsent: ({ event }) => event.type === 'OBSERVED' && event.status === 'absent',
    seenCreated: ({ event }) => event.type === 'OBSERVED' && event.status === 'created',
    seenRunning: ({ event }) => event.type === 'OBSERVED' && event.status === 'running',
    seenExited: ({ event }) => event.type === 'OBSERVED' && event.status === 'exited',
  },
  actions: {
    recordDesired: assign(({ context, event }) => {
      if (event.type !== 'DESIRED') return {};
      return { desired: event.state, desiredHash: event.hash ?? context.desiredHash };
    }),
    recordObserved: assign(({ context, event }) => {
      if (event.type !== 'OBSERVED') return {};
      return { observedHash: event.hash ?? context.observedHash, pid: event.pid, exitCode: event.exitCode };
    }),
    recordCreated: assign(({ context }, output: { pid: number }) => ({ pid: output.pid, observedHash: context.desiredHash, exitCode: undefined, error: undefined })),
    recordExit: assign((_, output: { exitCode?: number }) => ({ exitCode: output.exitCode, pid: undefined })),
    forgetContainer: assign({ observedHash: undefined, pid: undefined, exitCode: undefined }),
    recordFailure: assign((_, params: { error: unknown }) => ({ error: messageOf(params.error) })),
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => ({ id: input.id, resource: input.resource, desired: 'running' }),
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
      always: [
        { guard: 'wantsRemoved', target: 'stopping' },
        { guard: 'isOutdated', target: 'stopping' },
      ],
      on: {
        OBSERVED: [
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
    // Exited by itself or stopped by us; it stays so (restart policies come with the supervisor) unless
    // it is to be removed, its configuration changed, or someone asks to START it again.
    exited: {
      tags: ['settled'],
      always: [
        { guard: 'wantsRemoved', target: 'removing' },
        { guard: 'isOutdated', target: 'removing' },
      ],
      on: {
        START: { target: 'removing', actions: assign({ observedHash: undefined }) },
        OBSERVED: [
          { guard: 'seenAbsent', target: 'absent', actions: 'forgetContainer' },
          { actions: 'recordObserved' },
        ],
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
      },
    },
    removed: {
      tags: ['settled'],
      type: 'final',
    },
  },
});

export type ContainerMachine = typeof containerMachine;
