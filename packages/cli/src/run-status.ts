/**
 * The exit status of the command that ran. Commander discards action return values, so actions record theirs
 * here; main() resets it before each run, which keeps in-process test runs independent.
 */
export const runStatus = { code: 0 };

/** Wraps a command action that returns its exit status. */
export function withStatus<A extends unknown[]>(action: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    runStatus.code = await action(...args);
  };
}
