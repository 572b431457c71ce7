/** The fastest of `runs` runs of `fn`, in seconds (warm caches: the first run warms them). */
export async function bestOf(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}
