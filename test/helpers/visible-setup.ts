// uvu runs a suite's `before` hooks inside a try whose `finally` returns: an error thrown there is
// dropped, and the suite shows only as tests that never ran, without a reason. A suite whose setup
// can fail for reasons of the host (a guest that does not boot, a missing tool) wraps it here: the
// error is printed once when it happens, kept, and every test of the suite fails naming it.

export interface SetupState {
  setupFailure?: Error;
}

/** A `before` hook that keeps the setup's error instead of letting uvu drop it. */
export function visibleSetup<Context extends SetupState>(setup: (context: Context) => Promise<void>): (context: Context) => Promise<void> {
  return async (context) => {
    try {
      await setup(context);
    } catch (error) {
      // Any error of the setup: it is reported below by every test, not handled.
      context.setupFailure = error instanceof Error ? error : new Error(String(error));
      process.stderr.write(`\nsetup failed: ${context.setupFailure.stack ?? context.setupFailure.message}\n`);
    }
  };
}

/** Throws, at the start of a test, the error the suite's setup failed with. */
export function assertSetUp(context: SetupState): void {
  if (context.setupFailure) {
    throw new Error(`the suite's setup failed (printed in full above): ${context.setupFailure.message.split('\n')[0]}`, { cause: context.setupFailure });
  }
}
