import type { Logger } from 'pino';
import type { ProxyMetrics } from '../ops/metrics.js';
import type { MetadataStore } from '../store/metadata-store.js';

/**
 * Whether each upstream answered its last request: the `upstream_up` gauge, /readyz, a log line on each change and
 * the shared store's record (so replicas and the dashboard see it). Only the upstream gateway reports to it.
 */
export class UpstreamHealth {
  private readonly state = new Map<string, boolean>();

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
    private readonly meta: MetadataStore,
    private readonly now: () => number,
    names: readonly string[],
  ) {
    for (const name of names) metrics.upstreamUp.set({ upstream: name }, 1);
  }

  set(upstream: string, ok: boolean, error?: string): void {
    if (this.state.get(upstream) === ok) return;
    this.state.set(upstream, ok);
    this.metrics.upstreamUp.set({ upstream }, ok ? 1 : 0);
    if (!ok) this.log.warn({ upstream, error }, 'upstream unavailable');
    else this.log.info({ upstream }, 'upstream available');
    void this.meta.putHealth(upstream, { ok, at: this.now(), ...(error !== undefined ? { error } : {}) }).catch(() => undefined);
  }

  /** Per upstream: true (answering), false (down), undefined (not asked yet). */
  snapshot(names: readonly string[]): Record<string, boolean | undefined> {
    return Object.fromEntries(names.map((name) => [name, this.state.get(name)]));
  }
}
