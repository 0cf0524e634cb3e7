import prettyBytes from 'pretty-bytes';

// How a pull shows itself: on a terminal, a live block with one line per layer of each image being
// pulled (waiting, downloading, verifying, unpacking, done); elsewhere only the finished lines, so
// logs and tests read the same text every time.

export type LayerState = 'downloading' | 'downloaded' | 'verifying' | 'unpacking' | 'done' | 'present';

export interface PullReporter {
  /** A layer of the image pulled as `ref` moved on. */
  layer(ref: string, digest: string, state: LayerState, size?: number): void;
  /** A line that stays, e.g. "✔ ref  pulled". */
  line(text: string): void;
  /** The pull of `ref` is over: its layer lines leave the live block. */
  finished(ref: string): void;
}

/** Only the lines that stay: for pipes, files and tests. */
export function plainReporter(print: (line: string) => void): PullReporter {
  return { layer: () => {}, line: print, finished: () => {} };
}

const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** A live view on a terminal (log-update redraws the block in place). */
export async function terminalReporter(stream: NodeJS.WriteStream = process.stdout): Promise<PullReporter> {
  const { createLogUpdate } = await import('log-update');
  const live = createLogUpdate(stream);
  const pulls = new Map<string, Map<string, { state: LayerState; size?: number }>>();
  const render = () => live([...pulls].flatMap(([ref, layers]) => [
    `${ref}`,
    ...[...layers].map(([digest, { state, size }]) => `  ${shortDigest(digest)}  ${state.padEnd(11)} ${size === undefined ? '' : prettyBytes(size)}`),
  ]).join('\n'));
  return {
    layer(ref, digest, state, size) {
      const layers = pulls.get(ref) ?? new Map();
      pulls.set(ref, layers);
      layers.set(digest, { state, size: size ?? layers.get(digest)?.size });
      render();
    },
    line(text) {
      live.persist(text);
      render();
    },
    finished(ref) {
      pulls.delete(ref);
      if (pulls.size === 0) live.clear();
      else render();
    },
  };
}

/** The reporter for this output: live on a terminal, plain otherwise. */
export async function reporterFor(stream: NodeJS.WriteStream = process.stdout): Promise<PullReporter> {
  // A terminal without a size (rows 0) has no room for a live block.
  return stream.isTTY && (stream.rows ?? 0) > 0 ? terminalReporter(stream) : plainReporter((line) => stream.write(`${line}\n`));
}
