import type { Command } from 'commander';
import { controlCommand } from './control.js';
import { withStopTimeout } from './timeout-option.js';

// `corral stop [pod | pod/container ...]`.

export function registerStop(program: Command): void {
  controlCommand(program, 'stop', 'stop containers (all, a pod, or pod/container); no restart policy brings them back until start or up', { addOptions: withStopTimeout });
}
