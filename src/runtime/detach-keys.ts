// The key sequence that leaves an attached terminal without stopping the container: docker's
// `--detach-keys` format, `ctrl-p,ctrl-q` by default. Pure: bytes in, what to forward out.

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** The bytes of a sequence like `ctrl-p,ctrl-q` or `ctrl-a,x`; an unknown key is an error saying what is allowed. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes = spec.split(',').map((key) => {
    const control = /^ctrl-([a-z@[\\\]^_])$/.exec(key);
    if (control) return control[1]!.toUpperCase().charCodeAt(0) & 0x1f;
    if (/^[\x20-\x7e]$/.test(key)) return key.charCodeAt(0);
    throw new Error(`detach key "${key}" is neither a letter nor ctrl-<letter>; write e.g. --detach-keys ctrl-p,ctrl-q or ctrl-a,x`);
  });
  if (bytes.length === 0 || spec === '') throw new Error('--detach-keys is empty; write e.g. ctrl-p,ctrl-q');
  return Buffer.from(bytes);
}

/** What one chunk of input becomes: the bytes to send on, and whether the sequence was completed. */
export interface DetachStep {
  readonly forward: Buffer;
  readonly detached: boolean;
}

/**
 * A matcher over the input stream. Bytes that may start the sequence are held back until it is clear
 * they do not complete it (then they are sent on, in order), as docker does, so a lone ctrl-p still
 * reaches the container.
 */
export function detachKeyMatcher(sequence: Buffer): (chunk: Buffer) => DetachStep {
  let held = 0;
  return (chunk) => {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === sequence[held]) {
        held += 1;
        if (held === sequence.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      out.push(...sequence.subarray(0, held));
      held = byte === sequence[0] ? 1 : 0;
      if (held === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detached: false };
  };
}
