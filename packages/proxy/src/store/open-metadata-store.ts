import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { TollgateError } from '@tollgate/core';
import type { MetadataLocation } from '../config/types.js';
import { LevelMetadataStore } from './level-metadata-store.js';
import type { BlobStore } from './blobs/types.js';
import type { MetadataStore } from './metadata-store.js';

/**
 * The name of the blob table a Redis store keeps for a blob store: a directory is one machine's (host, data
 * directory), a bucket is shared by every replica that names it.
 */
export function blobNamespace(blobs: BlobStore, dataDir: string): string {
  const identity = blobs.kind === 'filesystem' ? `${hostname()}\0${dataDir}` : `s3\0${blobs.describe()}`;
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}

/** Opens the configured metadata store: `level` in `levelPath` (one process) or Redis (shared). */
export async function openMetadataStore(location: MetadataLocation, levelPath: string, namespace: string): Promise<MetadataStore> {
  if (location.kind === 'redis') {
    const { RedisMetadataStore } = await import('./redis-metadata-store.js');
    return RedisMetadataStore.open(location.url, namespace);
  }
  try {
    return await LevelMetadataStore.open(levelPath);
  } catch (error) {
    throw new TollgateError('STORE_ERROR', `cannot open the proxy metadata in ${levelPath}; is a running proxy using this data directory? (level allows one process; use a Redis store to share it)`, { cause: error });
  }
}
