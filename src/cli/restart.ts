import type { Command } from 'commander';
import { controlCommand } from './control.js';
import { withStopTimeout } from './timeout-option.js';

// `corral restart [pod | pod/container ...]`.

export function registerRestart(program: Command): void {
  controlCommand(program, 'restart', 'restart containers in place (all, a pod, or pod/container)', { addOptions: withStopTimeout });
}
