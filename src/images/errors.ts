// One error class for the image layer: which image, what went wrong, and what to do about it, in
// one line ("blob sha256:… is corrupt: …; nothing was stored (pull again, or check the source)").

export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** The user named something that is not there (exit code 1), rather than a failure on the way (2). */
  readonly invalidInput: boolean;

  constructor(message: string, options: { invalidInput?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.invalidInput = options.invalidInput ?? false;
  }

  override toString(): string {
    return this.message;
  }
}
