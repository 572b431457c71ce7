import { availableParallelism } from 'node:os';

/**
 * Work that only pays when it has a core of its own (hashing on a thread, uploading while downloading): an
 * environment switch `1` or `0` decides; otherwise on only with more than two cores. Measured on two cores, each such
 * piece of work competed with the client's own transfer and made no pull faster (docs/benchmarks.md).
 */
export function onWithSpareCores(setting: string | undefined): boolean {
  if (setting === '1' || setting === '0') return setting === '1';
  return availableParallelism() > 2;
}
