import { join } from 'node:path';
import { TollgateError } from '@tollgate/core';
import type { ProxyConfig } from '../config/types.js';
import { createBlobStore } from './blobs/open-blob-store.js';
import type { MetadataStore } from './metadata-store.js';
import { blobNamespace, openMetadataStore } from './open-metadata-store.js';
import { createRetention } from './create-retention.js';

/** Tag resolutions older than this (or the tag TTL, if longer) are dropped by gc. */
export const TAG_HORIZON_MS = 30 * 86_400_000;

export interface GcReport {
  tempFilesRemoved: number;
  blobsEvicted: number;
  bytesFreed: number;
  blobsKept: number;
  bytesKept: number;
  tagsPruned: number;
}

export function storePaths(dataDir: string): { blobs: string; meta: string } {
  return { blobs: dataDir, meta: join(dataDir, 'meta') };
}

/**
 * Garbage collection of a proxy's blob store: reconciles blobs with metadata, evicts least recently used blobs down
 * to `maxBytes` (default the configured bound) and drops tag resolutions older than 30 days. With level metadata the
 * proxy must be stopped (level allows one process) and interrupted downloads are removed too; with Redis it runs
 * while replicas serve (eviction takes the same lock as theirs; their downloads in flight are left alone).
 */
export async function collectGarbage(config: ProxyConfig, options: { maxBytes?: number } = {}): Promise<GcReport> {
  const paths = storePaths(config.dataDir);
  const blobs = await createBlobStore(config.store.blobs, paths.blobs);
  // With a shared metadata store, proxies may be running (on this data directory too): their downloads stay.
  const tempFilesRemoved = await blobs.open({ keepTemp: config.store.metadata.kind === 'redis' });
  let meta: MetadataStore;
  try {
    meta = await openMetadataStore(config.store.metadata, paths.meta, blobNamespace(blobs, config.dataDir));
  } catch (error) {
    if (config.store.metadata.kind === 'redis') throw error;
    throw new TollgateError('STORE_ERROR', `cannot open the proxy metadata in ${paths.meta} (is the proxy still running? stop it before gc)`, { cause: error });
  }
  try {
    const retention = createRetention(blobs, meta, options.maxBytes ?? config.cache.maxBytes);
    await retention.load({ wait: true });
    const report = await retention.enforce(undefined, options.maxBytes ?? config.cache.maxBytes, { wait: true });
    // Stale tag resolutions keep cached images pullable while an upstream is down; only month-old ones go.
    const tagsPruned = await meta.pruneTags(Date.now() - Math.max(config.cache.tagTtlSeconds * 1000, TAG_HORIZON_MS));
    return {
      tempFilesRemoved,
      blobsEvicted: report.evicted,
      bytesFreed: report.freedBytes,
      blobsKept: retention.count,
      bytesKept: retention.totalBytes,
      tagsPruned,
    };
  } finally {
    await meta.close();
    await blobs.close();
  }
}
