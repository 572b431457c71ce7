import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { TollgateError } from '@tollgate/core';
import type { MetadataLocation } from '../config/types.js';
import { LevelMetadataStore } from './level-metadata-store.js';
import type { MetadataStore } from './metadata-store.js';

/** Opens the configured metadata store: `level` in `levelPath` (one process) or Redis (shared). */
export async function openMetadataStore(location: MetadataLocation, levelPath: string, dataDir: string): Promise<MetadataStore> {
  if (location.kind === 'redis') {
    const { RedisMetadataStore } = await import('./redis-metadata-store.js');
    // The blob table describes this machine's blob store: one per (host, data directory).
    const namespace = createHash('sha256').update(`${hostname()}\0${dataDir}`).digest('hex').slice(0, 16);
    return RedisMetadataStore.open(location.url, namespace);
  }
  try {
    return await LevelMetadataStore.open(levelPath);
  } catch (error) {
    throw new TollgateError('STORE_ERROR', `cannot open the proxy metadata in ${levelPath}; is a running proxy using this data directory? (level allows one process; use a Redis store to share it)`, { cause: error });
  }
}
