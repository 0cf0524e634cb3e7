import type { SupervisorAnswer, SupervisorRequest } from './socket.js';
import type { SupervisedContainers } from './supervised.js';

// What the supervisor does with a request on its socket (see socket.ts for the requests). Every
// request is answered at once: the work it starts goes on after the answer.

export interface RequestHandlerOptions {
  readonly containers: Pick<SupervisedContainers, 'restart' | 'snapshots'>;
  /** Starts a pass (it reads everything under the project lock anyway). */
  readonly wake: () => void;
  readonly stop: () => Promise<void>;
  /** The pid the answers name (the CLI waits for it to be gone after `shutdown`). */
  readonly pid?: number;
}

export function requestHandler(options: RequestHandlerOptions): (request: SupervisorRequest) => Promise<SupervisorAnswer> {
  const pid = options.pid ?? process.pid;
  return async (request) => {
    if (request.op === 'reload') {
      // The CLI need not wait for the pass.
      options.wake();
    } else if (request.op === 'restart') {
      options.containers.restart(request.resources);
    } else if (request.op === 'shutdown') {
      // After the answer is written: stopping closes the socket it goes out on.
      setImmediate(() => void options.stop());
    } else if (request.op === 'status') {
      return { ok: true, pid, containers: options.containers.snapshots() };
    }
    return { ok: true, pid };
  };
}
