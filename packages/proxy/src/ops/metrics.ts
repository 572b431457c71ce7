import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a store holds on this replica's own disk besides its blobs: local copies of a shared store's blobs. */
export type LocalCopyStats = () => { bytes: number; count: number } | undefined;

/** The proxy's Prometheus metrics, in a registry of its own (several proxies may share a process in tests). */
export function createMetrics(localCopies: LocalCopyStats = () => undefined) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_proxy_process_' });
  const m = {
    registry,
    requests: new Counter({ name: 'tollgate_proxy_requests_total', help: 'Client requests by kind, method and status code', labelNames: ['kind', 'method', 'status'], registers: [registry] }),
    requestSeconds: new Histogram({ name: 'tollgate_proxy_request_duration_seconds', help: 'Time to answer client requests', labelNames: ['kind'], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [registry] }),
    upstreamRequests: new Counter({ name: 'tollgate_proxy_upstream_requests_total', help: 'Requests to upstreams (serving and the gate alike) by operation (manifest, blob, tags, referrers, signature-referrers, signature-manifest, signature-blob) and outcome (ok, an error code, or aborted when the proxy gave the read up; a blob once its body ended)', labelNames: ['upstream', 'operation', 'outcome'], registers: [registry] }),
    upstreamBytes: new Counter({ name: 'tollgate_proxy_upstream_bytes_total', help: 'Blob bytes received from upstreams', labelNames: ['upstream'], registers: [registry] }),
    servedBytes: new Counter({ name: 'tollgate_proxy_served_blob_bytes_total', help: 'Blob bytes sent to clients (from cache or while fetching)', registers: [registry] }),
    cache: new Counter({ name: 'tollgate_proxy_cache_total', help: 'Cache lookups by kind (blob, manifest, tag) and result (hit, miss, stale)', labelNames: ['kind', 'result'], registers: [registry] }),
    cacheBytes: new Gauge({ name: 'tollgate_proxy_cache_bytes', help: 'Bytes in the blob store', registers: [registry] }),
    cacheBlobs: new Gauge({ name: 'tollgate_proxy_cache_blobs', help: 'Blobs in the blob store', registers: [registry] }),
    localCopyBytes: new Gauge({
      name: 'tollgate_proxy_local_copies_bytes',
      help: "Bytes of this replica's verified copies of shared-store blobs on its own disk (store.blobs.s3.localCache)",
      registers: [registry],
      collect() {
        this.set(localCopies()?.bytes ?? 0);
      },
    }),
    localCopies: new Gauge({
      name: 'tollgate_proxy_local_copies',
      help: "Blobs with a verified copy on this replica's own disk (store.blobs.s3.localCache)",
      registers: [registry],
      collect() {
        this.set(localCopies()?.count ?? 0);
      },
    }),
    evictions: new Counter({ name: 'tollgate_proxy_cache_evictions_total', help: 'Blobs evicted by the LRU bound', registers: [registry] }),
    inflight: new Gauge({ name: 'tollgate_proxy_blob_fetches_in_flight', help: 'Upstream blob downloads in progress', registers: [registry] }),
    integrityFailures: new Counter({ name: 'tollgate_proxy_integrity_failures_total', help: 'Upstream content refused because its digest or size did not match', labelNames: ['upstream', 'kind'], registers: [registry] }),
    verdicts: new Counter({ name: 'tollgate_proxy_gate_decisions_total', help: 'Gate evaluations by decision (allow, warn, deny, error)', labelNames: ['decision'], registers: [registry] }),
    denied: new Counter({ name: 'tollgate_proxy_denied_total', help: 'Requests refused with DENIED, by reason (policy, ns, blob)', labelNames: ['reason'], registers: [registry] }),
    tagMutations: new Counter({ name: 'tollgate_proxy_tag_mutations_total', help: 'Tags seen pointing at a new digest', labelNames: ['upstream'], registers: [registry] }),
    warned: new Counter({ name: 'tollgate_proxy_warn_mode_served_total', help: 'Manifests served in warn mode that enforce mode would have denied', labelNames: ['upstream'], registers: [registry] }),
    authFailures: new Counter({ name: 'tollgate_proxy_auth_failures_total', help: 'Client requests refused by authentication or access rules, by reason (credentials, token, scope, access)', labelNames: ['reason'], registers: [registry] }),
    upstreamUp: new Gauge({ name: 'tollgate_proxy_upstream_up', help: '0 once a request found the upstream unavailable (unreachable, 429, 5xx but 501), 1 again once one succeeds; answers (4xx, 501) and the proxy store failing leave it as it is', labelNames: ['upstream'], registers: [registry] }),
  };
  return m;
}

export type ProxyMetrics = ReturnType<typeof createMetrics>;
