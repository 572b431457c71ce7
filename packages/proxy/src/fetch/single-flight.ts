/**
 * Concurrent calls for the same key share one execution; the key is free again once it settles. With `maxKeys`,
 * at most that many executions are shared at once: past it a call runs on its own (correct, only not shared), so
 * the table, and whatever its results hold in memory, stays bounded.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(private readonly maxKeys = Number.POSITIVE_INFINITY) {}

  run(key: string, work: () => Promise<T>): Promise<T> {
    const current = this.inFlight.get(key);
    if (current !== undefined) return current;
    if (this.inFlight.size >= this.maxKeys) return work();
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  has(key: string): boolean {
    return this.inFlight.has(key);
  }

  get size(): number {
    return this.inFlight.size;
  }
}
