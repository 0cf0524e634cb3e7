// What every layer's error carries: what went wrong (the message, with where), how to fix it (the
// hint), and the error it came from (cause). Printed as one line: the message, then the hint.

export class FixableError extends Error {
  readonly hint: string;
  /** What the message is about (`web/app`), printed before it, where the message alone must stay a reason. */
  readonly subject?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown; subject?: string } = {}) {
    super(message, { cause: options.cause });
    this.hint = options.hint ?? '';
    this.subject = options.subject;
  }

  override toString(): string {
    const text = this.subject ? `${this.subject} ${this.message}` : this.message;
    return this.hint ? `${text} (${this.hint})` : text;
  }
}
