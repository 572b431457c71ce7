import { TollgateError } from '../errors/tollgate-error.js';

/** Layers read in parallel by default: the machines tollgate is measured on have 2 cores, and gunzip is the wall. */
export const DEFAULT_CONCURRENCY = 2;

/**
 * Maps `items` through `fn` with at most `limit` calls in flight (default 2), results in input order. On the first
 * rejection no further calls start, the signal handed to the calls in flight is aborted (so a layer read stops
 * early), and the returned promise rejects with that first error once the calls in flight have settled.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number | undefined,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const max = limit ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(max) || max < 1) {
    throw new TollgateError('USAGE', `concurrency limit must be a positive integer, got ${String(limit)}`);
  }
  const results = new Array<R>(items.length);
  const controller = new AbortController();
  let next = 0;
  let failed = false;
  let firstError: unknown;

  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index, controller.signal);
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
          controller.abort(error);
        }
      }
    }
  };

  await Promise.all(Array.from({ length: Math.min(max, items.length) }, worker));
  if (failed) throw firstError;
  return results;
}
