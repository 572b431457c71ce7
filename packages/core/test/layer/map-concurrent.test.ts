import { describe, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY, mapConcurrent } from '@tollgate/core';

/** A promise with its resolvers, so tests decide when each call finishes (no timers). */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('mapConcurrent', () => {
  it('keeps input order and never runs more than the limit (default 2) at once', async () => {
    expect(DEFAULT_CONCURRENCY).toBe(2);
    let running = 0;
    let peak = 0;
    const results = await mapConcurrent([5, 1, 4, 2, 3, 0], undefined, async (n) => {
      running++;
      peak = Math.max(peak, running);
      for (let i = 0; i < n; i++) await Promise.resolve();
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
    expect(await mapConcurrent([], 3, async () => 1)).toEqual([]);
  });

  it('honours a larger limit', async () => {
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    let started = 0;
    const all = mapConcurrent(gates, 3, (g) => {
      started++;
      return g.promise;
    });
    await Promise.resolve();
    expect(started).toBe(3);
    gates.forEach((g, i) => g.resolve(i));
    expect(await all).toEqual([0, 1, 2]);
  });

  it('on the first failure starts nothing new, aborts the calls in flight and rejects with that error', async () => {
    const failure = new Error('layer 0 is corrupt');
    const slow = deferred<string>();
    const started: number[] = [];
    let inFlightSignal: AbortSignal | undefined;
    const all = mapConcurrent([0, 1, 2, 3], 2, (i, _index, signal) => {
      started.push(i);
      if (i === 0) return Promise.reject(failure);
      inFlightSignal = signal;
      signal.addEventListener('abort', () => slow.reject(signal.reason));
      return slow.promise;
    });
    await expect(all).rejects.toBe(failure);
    expect(started).toEqual([0, 1]);
    expect(inFlightSignal?.aborted).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s with USAGE', async (limit) => {
    await expect(mapConcurrent([1], limit, async (n) => n)).rejects.toMatchObject({ code: 'USAGE' });
  });
});
