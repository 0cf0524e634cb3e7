// Independent containers are handled in parallel, but not all at once: a bound keeps a 50-pod project
// from starting 50 runc processes on a 2-core machine simultaneously.

/** How many containers one command handles at a time. */
export const CONTAINER_CONCURRENCY = 8;

/** Maps `items` through `work` with at most `limit` in flight; results keep the input order. */
export async function runWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
