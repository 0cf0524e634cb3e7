import type { Command } from 'commander';
import { controlCommand } from './control.js';

// `corral kill [-s SIGNAL] [pod | pod/container ...]`, as docker compose's: SIGKILL by default, which
// no restart policy answers (as a stop); another signal (HUP, USR1...) just reaches the process.

export function registerKill(program: Command): void {
  controlCommand(program, 'kill', 'send a signal to the first process of containers (all, a pod, or pod/container)',
    { addOptions: (command) => command.option('-s, --signal <signal>', 'signal to send (name or number)', 'KILL') });
}
