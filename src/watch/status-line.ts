// What `watch` prints: on a terminal, output lines scroll above one status line that stays at the
// bottom (last apply, what changed, how long); elsewhere (a pipe, a log file), plain lines, the
// status as `[watch] ...` lines.

export interface WatchOutput {
  /** A line of output (container logs, progress, errors). */
  line(text: string): void;
  /** Replaces the status line. */
  status(text: string): void;
}

const CLEAR_LINE = '\r\x1b[K';

export function watchOutput(stream: NodeJS.WriteStream): WatchOutput {
  if (!stream.isTTY) {
    return {
      line: (text) => stream.write(`${text}\n`),
      status: (text) => stream.write(`[watch] ${text}\n`),
    };
  }
  let current = '';
  // Longer than the terminal is wide, it would wrap, and the next redraw would only clear its last row.
  const fitted = () => (current.length > (stream.columns || 80) - 1 ? `${current.slice(0, (stream.columns || 80) - 2)}…` : current);
  return {
    line: (text) => stream.write(`${CLEAR_LINE}${text}\n${fitted()}`),
    status: (text) => {
      current = `[watch] ${text}`;
      stream.write(`${CLEAR_LINE}${fitted()}`);
    },
  };
}
