import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { ClientAuth } from '../auth/client-auth.js';
import type { EnforcementMode, ProxyConfig } from '../config/types.js';
import type { BlobFetch } from '../fetch/blob-fetch.js';
import { SingleFlight } from '../fetch/single-flight.js';
import type { Gate, Verdict } from '../gate/types.js';
import type { ProxyMetrics } from '../ops/metrics.js';
import type { BlobStore } from '../store/blobs/types.js';
import type { ListingKind, MetadataStore } from '../store/metadata-store.js';
import type { BlobRetention } from '../store/retention.js';
import { UpstreamGateway } from '../upstream/gateway.js';
import { UpstreamHealth } from '../upstream/health.js';
import type { Upstream } from '../upstream/types.js';
import { isUpstreamUnavailable } from '../upstream/unavailable.js';

/** Everything the serving path shares: config, gate, upstreams, stores, in-flight work, metrics and the log. */
export class ProxyCore {
  /**
   * The configured upstreams, each behind its gateway: every read of it (serving and the gate's) is counted,
   * reported to its health and, for small things, shared between concurrent identical askers.
   */
  readonly upstreams: readonly Upstream[];
  readonly health: UpstreamHealth;
  /** Gate evaluations in flight, one per (revision, upstream, repository, digest). */
  readonly verdictFlights = new SingleFlight<{ verdict: Verdict; cached: boolean }>();
  readonly blobFetches = new Map<string, BlobFetch>();
  /** Requests of this replica waiting together for a peer replica's download into the shared store. */
  readonly peerWaits = new SingleFlight<unknown>();
  /** Bookkeeping that runs after a response (recording a cached blob, evicting past the bound). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    readonly config: ProxyConfig,
    readonly gate: Gate,
    upstreams: readonly Upstream[],
    readonly meta: MetadataStore,
    readonly blobs: BlobStore,
    readonly retention: BlobRetention,
    readonly metrics: ProxyMetrics,
    readonly log: Logger,
    readonly auth: ClientAuth,
    readonly audit: AuditLog,
    /** Milliseconds since the epoch: verdict and tag lifetimes, listing and health times. */
    readonly now: () => number = Date.now,
  ) {
    this.health = new UpstreamHealth(metrics, log, meta, now, upstreams.map((u) => u.name));
    const observer = {
      request: (upstream: string, operation: string, outcome: string) => metrics.upstreamRequests.inc({ upstream, operation, outcome }),
      health: (upstream: string, ok: boolean, error?: string) => this.health.set(upstream, ok, error),
    };
    this.upstreams = upstreams.map((u) => (u instanceof UpstreamGateway ? u : new UpstreamGateway(u, observer)));
  }

  /** Runs `work` in the background, tracked so that idle() can wait for it. */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.background.add(settled);
    void settled.then(() => this.background.delete(settled));
  }

  /** Resolves once all tracked background work has settled (shutdown waits for it; so can a test). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** `enforce` or `warn` for this upstream (its own setting, else the global one). */
  modeFor(upstream: Upstream): EnforcementMode {
    return upstream.config.mode ?? this.config.mode;
  }

  /** Whether moved tags of this upstream are denied until the new digest is verified. */
  pinTagsFor(upstream: Upstream): boolean {
    return upstream.config.pinTags ?? this.config.pinTags;
  }

  /**
   * The key verdicts and blob admissions are stored under for this upstream: the gate's revision, plus the mode
   * when it is warn (blobs admitted only because warn mode served a denied manifest must not stay admitted when
   * the mode goes back to enforce).
   */
  revisionFor(upstream: Upstream): string {
    return this.modeFor(upstream) === 'warn' ? `${this.gate.revision}+warn` : this.gate.revision;
  }

  /**
   * A listing (tags page, referrers index) from the upstream, remembered; while the upstream is unavailable (down,
   * 429, 5xx) the last one it gave is answered instead, marked stale. A listing only names tags or artifacts: what a
   * client then pulls by them is still verified and gated as always.
   */
  async listing<T>(upstream: Upstream, kind: ListingKind, repository: string, query: string, work: () => Promise<T>): Promise<{ value: T; stale: boolean }> {
    try {
      // `work` reads through the upstream's gateway, which counts it and reports the upstream's health.
      const value = await work();
      await this.meta.putListing(kind, upstream.name, repository, query, { value, at: this.now() });
      return { value, stale: false };
    } catch (error) {
      if (!isUpstreamUnavailable(error)) throw error;
      const cached = await this.meta.getListing(kind, upstream.name, repository, query);
      if (cached === undefined) throw error;
      this.metrics.cache.inc({ kind, result: 'stale' });
      this.log.warn({ upstream: upstream.name, repository, kind, at: new Date(cached.at).toISOString() }, 'upstream unavailable; answering the last listing it gave');
      return { value: cached.value as T, stale: true };
    }
  }

  upstreamHealth(): Record<string, boolean | undefined> {
    return this.health.snapshot(this.upstreams.map((u) => u.name));
  }
}
