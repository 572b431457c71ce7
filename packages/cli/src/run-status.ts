import { releaseCommandResources } from './command-resources.js';

/**
 * The exit status of the command that ran. Commander discards action return values, so actions record theirs
 * here; main() resets it before each run, which keeps in-process test runs independent.
 */
export const runStatus = { code: 0 };

/**
 * Wraps a command action that returns its exit status. Whatever the action opened for the command's length (a
 * PKCS#11 key: its session, login and module) is released when it ends, succeeded or failed.
 */
export function withStatus<A extends unknown[]>(action: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      runStatus.code = await action(...args);
    } finally {
      await releaseCommandResources();
    }
  };
}
