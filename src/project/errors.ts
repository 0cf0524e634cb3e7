// One error class for the project layer: every problem in a project file says where (file:line:col and
// the dotted path of the value) and how to fix it, so the CLI can print it in one line.

export interface Where {
  readonly file: string;
  /** 1-based; 0 when unknown (for example, the file could not be read at all). */
  readonly line: number;
  readonly col: number;
  /** Dotted path of the offending value, e.g. `pods.web.containers.app.env`. Empty for the document itself. */
  readonly path: string;
}

/** Control characters of a hostile file (a NUL, an escape sequence) shown as \u001b, never sent to a terminal. */
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** At most this many problems are listed; a file with more has usually one mistake repeated. */
const MOST_PROBLEMS = 20;

export class ProjectError extends Error {
  override readonly name = 'ProjectError';
  readonly where: Where;
  /** What the user should do about it, e.g. "use a mapping of NAME: value". */
  readonly hint: string;

  constructor(what: string, where: Where, hint: string, options?: { cause?: unknown }) {
    super(what, options);
    this.where = where;
    this.hint = hint;
  }

  /** The further problems of the same file, when several were found at once. */
  readonly others: readonly ProjectError[] = [];

  /** One error for several problems of a file: the first speaks for all, the others follow it. */
  static all(problems: readonly ProjectError[]): ProjectError {
    const [first, ...others] = problems;
    if (!first) throw new Error('ProjectError.all needs at least one problem');
    return Object.assign(new ProjectError(first.message, first.where, first.hint), { others });
  }

  /** One error for the problems of a file in file order, at most MOST_PROBLEMS of them. */
  static inFileOrder(problems: readonly ProjectError[]): ProjectError {
    const sorted = [...problems].sort((a, b) => a.where.line - b.where.line || a.where.col - b.where.col);
    return ProjectError.all(sorted.slice(0, MOST_PROBLEMS));
  }

  /** Every problem, one per line: `<file>:<line>:<col>: <what> (<how to fix>)`. */
  override toString(): string {
    return [this.describe(), ...this.others.map((other) => other.describe())].join('\n');
  }

  /** `<file>:<line>:<col>: <what> (<how to fix>)` */
  describe(): string {
    const { file, line, col } = this.where;
    const position = line > 0 ? `${file}:${line}:${col}` : file;
    const at = this.where.path ? ` at ${this.where.path}` : '';
    return printable(`${position}: ${this.message}${at} (${this.hint})`);
  }
}

/**
 * The problems found in independent parts of a file (each volume, container, pod, and then the
 * checks across pods), so that one run reports them all, not the first only.
 */
export class Problems {
  private readonly found: ProjectError[] = [];

  /** Runs one part; a ProjectError it throws is kept (and undefined returned), anything else goes on. */
  check<T>(part: () => T): T | undefined {
    try {
      return part();
    } catch (error) {
      if (!(error instanceof ProjectError)) throw error;
      this.found.push(error, ...error.others);
      return undefined;
    }
  }

  /** Throws every problem found so far, in file order, if there is one. */
  throwIfAny(): void {
    if (this.found.length > 0) throw ProjectError.inFileOrder(this.found);
  }
}
