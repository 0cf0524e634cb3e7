import { ProjectError, type Where } from './errors.js';

// A parsed project file as the stages after parsing see it: its data, and where each value was
// written, so that an error can name the line and column. Apart from parse.ts so that what only
// reports errors at a path (the runtime's checks among it) does not load the YAML parser.

export type PathSegment = string | number;

/**
 * Where a value was written: line and column (1-based), its file when it is another than the
 * ParsedFile's own, and its path as the user wrote it when that is another (a compose file's
 * `services.web.sysctls` for Corral's `pods.web.containers.web.sysctls`).
 */
export interface Location { line: number; col: number; file?: string; written?: readonly PathSegment[] }

export interface ParsedFile {
  readonly file: string;
  readonly data: unknown;
  /**
   * Line and column (1-based) of the value at `path`, or of its key with `{ key: true }`; and the
   * file it is in when that is not `file` (a value merged in from a compose override file).
   */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): Location;
}

/** Dotted path as users read it: `pods.web.containers.app.volumes[1]`. */
export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}

/** A ProjectError at the value (or key) of `path` in a parsed file. */
export function errorAt(parsed: ParsedFile, path: readonly PathSegment[], what: string, hint: string, options: { key?: boolean } = {}): ProjectError {
  return new ProjectError(what, whereAt(parsed, path, options), hint);
}

/** Where a value (or with `key`, its key) is written: file (of the file it came from), line, column, path. */
export function whereAt(parsed: ParsedFile, path: readonly PathSegment[], options: { key?: boolean } = {}): Where {
  const { line, col, file = parsed.file, written = path } = parsed.locate(path, options);
  return { file, line, col, path: formatPath(written) };
}
