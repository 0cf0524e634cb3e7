// Work done side by side where each piece must run even if another fails (a down's removals): every
// one is waited for, so none is left running when the first failure is reported.

/** Waits for every one of the works, then throws the first failure, if any. */
export async function settleAllThenThrowFirst(works: readonly Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(works)).find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
}
