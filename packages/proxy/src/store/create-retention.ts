import type { BlobStore } from './blobs/types.js';
import type { MetadataStore } from './metadata-store.js';
import { Retention, type BlobRetention } from './retention.js';
import { SharedRetention } from './shared-retention.js';

/** LRU kept in this process for a store only it writes (a directory), in the shared table for a bucket. */
export function createRetention(blobs: BlobStore, meta: MetadataStore, maxBytes: number, onEvict?: (digest: string, size: number) => void): BlobRetention {
  return blobs.kind === 'filesystem' ? new Retention(blobs, meta, maxBytes, onEvict) : new SharedRetention(blobs, meta, maxBytes, onEvict);
}
