import type { Command } from 'commander';
import { controlCommand } from './control.js';

// `corral pause [pod | pod/container ...]` and `corral unpause ...`: the freezer, as docker compose's.

export function registerPause(program: Command): void {
  controlCommand(program, 'pause', 'freeze the processes of containers (all, a pod, or pod/container) where they stand; not probed or restarted while paused');
  controlCommand(program, 'unpause', 'thaw paused containers');
}
