import { defaultDataDir, isTollgateError, LayerIndexStore } from '@tollgate/core';
import { writeErr } from '../output/write.js';

export interface LayerIndexCacheFlags {
  data?: string;
  /** false with --no-cache. */
  cache: boolean;
}

/** How long a command waits for another tollgate process to let go of the layer index store. */
export const LAYER_INDEX_WAIT_MS = 1000;

/**
 * The layer index cache of validate, diff and policy check, unless --no-cache. The store admits one process at a
 * time; when another tollgate holds it past a short wait, the command goes on without the cache (it is only a
 * cache: every layer is then read and hashed) and says so on stderr. Parallel runs never fail because of it.
 */
export async function openLayerIndexCache(flags: LayerIndexCacheFlags): Promise<LayerIndexStore | undefined> {
  if (!flags.cache) return undefined;
  const dataDir = flags.data ?? defaultDataDir();
  try {
    return await LayerIndexStore.open(dataDir, { waitMs: LAYER_INDEX_WAIT_MS });
  } catch (error) {
    if (!isTollgateError(error, 'STORE_BUSY')) throw error;
    writeErr(`layer index cache busy (another tollgate is using ${dataDir}); continuing without it`);
    return undefined;
  }
}
