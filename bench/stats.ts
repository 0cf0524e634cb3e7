// Median, min and max of repeated runs, and the ratio to the floor of the same run.

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function summarise(samples: readonly number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

export function formatSeconds(figure: Figure | undefined): string {
  if (!figure) return 'n/a';
  return `${figure.median.toFixed(3)} s (${figure.min.toFixed(3)}–${figure.max.toFixed(3)})`;
}
