import type { TestOptions } from 'vitest';

/**
 * Options for `describe` / `it` that need something this machine may lack (a tool, root): nothing when `reason` is
 * undefined, else a skip carrying the one-line reason (the summary reporter prints it, as for needsShared).
 */
export function skipWhen(reason: string | undefined): TestOptions {
  return reason === undefined ? {} : { skip: true, meta: { skipReason: reason } };
}
