import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Level } from 'level';
import { TollgateError } from '../errors/tollgate-error.js';
import { parseDigest } from '../digest/digest.js';
import type { FileEntry } from '../layer/types.js';
import { loadLevel } from './load-level.js';

export interface OpenLayerIndexStoreOptions {
  /** How long to keep retrying while another process holds the store, in milliseconds (default 0). */
  waitMs?: number;
}

/** Where the store of a data directory lives (for messages). */
export function layerIndexLocation(dataDir: string): string {
  return join(dataDir, 'layer-index');
}

/** classic-level's answer when another process holds the database's LOCK file. */
function isLocked(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if ((current as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Bumped when the stored shape of a file index changes, so old entries are ignored rather than misread. */
const INDEX_FORMAT = 1;

interface StoredIndex {
  format: number;
  files: FileEntry[];
}

/**
 * Layer file indexes cached by diffID in a `level` database. A diffID names the uncompressed tar exactly, so an
 * index computed once (by us, from bytes we hashed) is valid for every image that contains that layer: nothing
 * is decompressed twice.
 */
export class LayerIndexStore {
  readonly #db: Level<string, string>;

  private constructor(db: Level<string, string>) {
    this.#db = db;
  }

  /**
   * Opens the store under `dataDir`. LevelDB allows one process per database: while another process holds it, the
   * open is retried for up to `waitMs` (default 0), then fails with STORE_BUSY, which a caller that only wants a
   * cache can answer by going on without one. Any other failure is STORE_ERROR.
   */
  static async open(dataDir: string, options: OpenLayerIndexStoreOptions = {}): Promise<LayerIndexStore> {
    const location = layerIndexLocation(dataDir);
    const { Level } = await loadLevel();
    const waitMs = Math.max(0, options.waitMs ?? 0);
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(location, { recursive: true, mode: 0o700 });
        const db = new Level<string, string>(location, { valueEncoding: 'utf8' });
        await db.open();
        return new LayerIndexStore(db);
      } catch (error) {
        if (!isLocked(error)) {
          const cause = (error as { cause?: unknown }).cause;
          const detail = cause instanceof Error ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
          throw new TollgateError('STORE_ERROR', `cannot open the layer index store at ${location}: ${detail}; check permissions or pass another --data directory`, { cause: error });
        }
        const left = waitMs - waited;
        if (left <= 0) {
          throw new TollgateError('STORE_BUSY', `the layer index store at ${location} is in use by another process; wait for it, pass another --data directory, or run without the cache`, { cause: error });
        }
        const delay = Math.min(left, 25 * 2 ** Math.min(attempt, 4));
        await sleep(delay);
        waited += delay;
      }
    }
  }

  async get(diffID: string): Promise<FileEntry[] | undefined> {
    const key = parseDigest(diffID, 'diffID').value;
    const value = await this.#db.get(key);
    if (value === undefined) return undefined;
    try {
      const stored = JSON.parse(value) as StoredIndex;
      return stored.format === INDEX_FORMAT && Array.isArray(stored.files) ? stored.files : undefined;
    } catch {
      return undefined; // a damaged entry is a cache miss, never trusted
    }
  }

  async put(diffID: string, files: FileEntry[]): Promise<void> {
    const key = parseDigest(diffID, 'diffID').value;
    const stored: StoredIndex = { format: INDEX_FORMAT, files };
    await this.#db.put(key, JSON.stringify(stored));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
