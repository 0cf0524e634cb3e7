import type { Attachment } from '../runtime/attach.js';
import { detachKeyMatcher } from '../runtime/detach-keys.js';

// This process's terminal or pipes joined to an attached container (`attach`, `run` in the
// foreground): our stdin goes to its stdin, its output is already flowing to our stdout/stderr. With
// a terminal on both sides ours is put in raw mode (ctrl-C, arrows and the like reach the program
// in the container as bytes) and its window size follows ours; the detach keys leave it running.

export interface StdioSessionOptions {
  /** The container has a terminal: ours goes raw and its size follows ours. */
  readonly tty: boolean;
  /** Pass our stdin on; without it the container's stdin is left as it is. */
  readonly stdin: boolean;
  /** Leave the container running on this sequence (only read from a terminal of ours). */
  readonly detachKeys?: Buffer;
}

export type SessionEnd = 'ended' | 'detached';

/** Joins our stdio to the attachment until it ends (the container exited) or the detach keys are typed. */
export function joinStdio(attachment: Attachment, options: StdioSessionOptions): Promise<SessionEnd> {
  const input = process.stdin;
  const raw = options.tty && input.isTTY === true;
  let detached = false;
  const resize = () => {
    if (process.stdout.rows && process.stdout.columns) void attachment.resize(process.stdout.rows, process.stdout.columns);
  };
  if (options.tty && process.stdout.isTTY) {
    resize();
    process.stdout.on('resize', resize);
  }
  const match = raw && options.detachKeys ? detachKeyMatcher(options.detachKeys) : undefined;
  const onData = (chunk: Buffer) => {
    const step = match ? match(chunk) : { forward: chunk, detached: false };
    // Nothing more is read until conmon took this: a fast producer is held back, not buffered here.
    input.pause();
    void attachment.send(step.forward).finally(() => {
      if (!detached) input.resume();
    });
    if (step.detached) {
      detached = true;
      attachment.detach();
    }
  };
  // A terminal never ends; a pipe or file does, and then so does the container's stdin (as docker's -i).
  const onEnd = () => attachment.endInput();
  if (options.stdin) {
    if (raw) input.setRawMode(true);
    input.on('data', onData);
    input.on('end', onEnd);
  }
  return attachment.ended.then(() => (detached ? 'detached' : 'ended')).finally(() => {
    process.stdout.off('resize', resize);
    if (!options.stdin) return;
    input.off('data', onData);
    input.off('end', onEnd);
    if (raw) input.setRawMode(false);
    // Our stdin must not keep this process alive once the container is gone.
    input.pause();
    input.unref?.();
  });
}
