import { FixableError } from '../fixable-error.js';
import { StateReadError } from '../state/errors.js';

// One error class for the runtime layer: which container, which step, and the runtime's own words,
// so a failed create reads "web/app: runc create failed: ... (check the rootfs path)".

export class RuntimeError extends FixableError {
  override readonly name = 'RuntimeError';
  /** `pod/container`, or `pod` for pod-level steps. */
  readonly resource: string;
  /** The step that failed: 'create', 'start', 'stop', 'remove', 'pod-create', ... */
  readonly step: string;

  constructor(opts: { resource: string; step: string; message: string; hint?: string; cause?: unknown }) {
    // A record that cannot be read knows its own repair better than the step that needed it.
    super(`${opts.resource}: ${opts.step} failed: ${opts.message}`, { cause: opts.cause, hint: opts.cause instanceof StateReadError ? opts.cause.hint : opts.hint });
    this.resource = opts.resource;
    this.step = opts.step;
  }
}
