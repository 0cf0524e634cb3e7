import type { Command } from 'commander';
import { controlCommand } from './control.js';

// `corral start [pod | pod/container ...]`.

export function registerStart(program: Command): void {
  controlCommand(program, 'start', 'start stopped containers again (all, a pod, or pod/container)');
}
