import { type Command, InvalidArgumentError } from 'commander';

// `-t, --timeout SECONDS` of stop, restart, down and up, as docker compose reads it: how long a
// container gets after its stop signal before SIGKILL, instead of its stop_grace_period.

/** Whole seconds, 0 or more, as ms; commander prints the message and exits 1 otherwise. */
export function timeoutSecondsAsMs(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('give whole seconds, 0 or more (0: SIGKILL at once)');
  return Number(value) * 1000;
}

export function withStopTimeout(command: Command): Command {
  return command.option('-t, --timeout <seconds>', 'seconds a container gets after its stop signal before SIGKILL (default: its stop_grace_period)', timeoutSecondsAsMs);
}
