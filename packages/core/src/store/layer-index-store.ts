import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Level } from 'level';
import { TollgateError } from '../errors/tollgate-error.js';
import { parseDigest } from '../digest/digest.js';
import type { FileEntry } from '../layer/types.js';
import { loadLevel } from './load-level.js';

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

  static async open(dataDir: string): Promise<LayerIndexStore> {
    const location = join(dataDir, 'layer-index');
    const { Level } = await loadLevel();
    try {
      mkdirSync(location, { recursive: true, mode: 0o700 });
      const db = new Level<string, string>(location, { valueEncoding: 'utf8' });
      await db.open();
      return new LayerIndexStore(db);
    } catch (error) {
      throw new TollgateError('STORE_ERROR', `cannot open the layer index store at ${location}: ${(error as Error).message}; check permissions or pass another --data directory`, { cause: error });
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
