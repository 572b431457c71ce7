import type { ProxyCore } from '../../serve/proxy-core.js';
import { perInterval, type RequestHistory } from './request-history.js';

export interface HealthView {
  upstreams: { name: string; location: string; up: boolean | undefined; since?: number; error?: string }[];
  cache: { bytes: number; blobs: number; maxBytes: number; hits: number; misses: number; hitRate?: number };
  integrityFailures: { total: number; byUpstream: Record<string, number> };
  decisions: Record<string, number>;
  requests: { at: number; requests: number; errors: number }[];
}

async function counterValues(counter: { get(): Promise<{ values: { value: number; labels: Record<string, string | number | undefined> }[] }> }) {
  return (await counter.get()).values;
}

/** What the Health page shows, from the metrics this process keeps and the upstream health the store shares. */
export async function readHealth(core: ProxyCore, history: RequestHistory): Promise<HealthView> {
  const local = core.upstreamHealth();
  const upstreams = await Promise.all(
    core.upstreams.map(async (u) => {
      const shared = await core.meta.getHealth(u.name).catch(() => undefined);
      const up = local[u.name] ?? shared?.ok;
      return {
        name: u.name,
        location: u.location,
        up,
        ...(shared !== undefined ? { since: shared.at } : {}),
        ...(up === false && shared?.error !== undefined ? { error: shared.error.slice(0, 300) } : {}),
      };
    }),
  );
  let hits = 0;
  let misses = 0;
  for (const { value, labels } of await counterValues(core.metrics.cache)) {
    if (labels.result === 'hit') hits += value;
    else if (labels.result === 'miss') misses += value;
  }
  const byUpstream: Record<string, number> = {};
  let total = 0;
  for (const { value, labels } of await counterValues(core.metrics.integrityFailures)) {
    const name = String(labels.upstream ?? 'unknown');
    byUpstream[name] = (byUpstream[name] ?? 0) + value;
    total += value;
  }
  const decisions: Record<string, number> = {};
  for (const { value, labels } of await counterValues(core.metrics.verdicts)) decisions[String(labels.decision)] = value;
  return {
    upstreams,
    cache: { bytes: core.retention.totalBytes, blobs: core.retention.count, maxBytes: core.config.cache.maxBytes, hits, misses, ...(hits + misses > 0 ? { hitRate: hits / (hits + misses) } : {}) },
    integrityFailures: { total, byUpstream },
    decisions,
    requests: perInterval(await history.read()),
  };
}
