import type { BlobStore } from './blobs/types.js';
import type { MetadataStore } from './metadata-store.js';

/** How often a blob's last access is written down (reads in between only update memory). */
const PERSIST_ACCESS_EVERY_MS = 60_000;

export interface EvictionReport {
  evicted: number;
  freedBytes: number;
}

/** Keeps the blob store within its size bound, least recently used first: per process or shared by replicas. */
export interface BlobRetention {
  readonly totalBytes: number;
  readonly count: number;
  /** Reconciles the store with the metadata (at start and in gc; `wait`: for a peer's pass to end first). */
  load(options?: { wait?: boolean }): Promise<void>;
  /** A blob was committed: record it and evict past the bound (never this one). */
  added(digest: string, size: number): Promise<void>;
  /** A blob was read: its last access moves (written down now and then, not on every read). */
  touch(digest: string): void;
  enforce(keep?: string, maxBytes?: number, options?: { wait?: boolean }): Promise<EvictionReport>;
}

/**
 * Size-bounded LRU over the blob store. Sizes and last-access times live in memory (loaded from disk and the
 * metadata store at start) and are written to the metadata store so an order survives restarts. Evicting a blob a
 * client is still reading is safe: the open file stays readable until it is closed.
 */
export class Retention implements BlobRetention {
  private readonly entries = new Map<string, { size: number; lastAccess: number; persisted: number }>();
  private total = 0;
  private evicting: Promise<EvictionReport> | undefined;

  constructor(
    private readonly blobs: BlobStore,
    private readonly meta: MetadataStore,
    private maxBytes: number,
    private readonly onEvict: (digest: string, size: number) => void = () => undefined,
  ) {}

  get totalBytes(): number {
    return this.total;
  }

  get count(): number {
    return this.entries.size;
  }

  /** Reconciles disk and metadata: files without metadata are adopted, metadata without a file is dropped. */
  async load(): Promise<void> {
    const onDisk = await this.blobs.scan();
    const known = await this.meta.listBlobs();
    for (const [digest, entry] of known) if (!onDisk.has(digest)) await this.meta.deleteBlob(digest);
    for (const [digest, file] of onDisk) {
      const lastAccess = known.get(digest)?.lastAccess ?? file.mtimeMs;
      if (!known.has(digest) || known.get(digest)!.size !== file.size) await this.meta.putBlob(digest, { size: file.size, lastAccess });
      this.entries.set(digest, { size: file.size, lastAccess, persisted: lastAccess });
      this.total += file.size;
    }
  }

  async added(digest: string, size: number): Promise<void> {
    const now = Date.now();
    if (!this.entries.has(digest)) this.total += size;
    this.entries.set(digest, { size, lastAccess: now, persisted: now });
    await this.meta.putBlob(digest, { size, lastAccess: now });
    await this.enforce(digest);
  }

  touch(digest: string): void {
    const entry = this.entries.get(digest);
    if (entry === undefined) return;
    entry.lastAccess = Date.now();
    if (entry.lastAccess - entry.persisted >= PERSIST_ACCESS_EVERY_MS) {
      entry.persisted = entry.lastAccess;
      void this.meta.putBlob(digest, { size: entry.size, lastAccess: entry.lastAccess }).catch(() => undefined);
    }
  }

  /** Evicts least recently used blobs until the store fits `maxBytes` (never `keep`, the blob just added). */
  enforce(keep?: string, maxBytes = this.maxBytes): Promise<EvictionReport> {
    const run = async (): Promise<EvictionReport> => {
      const report: EvictionReport = { evicted: 0, freedBytes: 0 };
      if (this.total <= maxBytes) return report;
      const order = [...this.entries.entries()].filter(([d]) => d !== keep).sort((a, b) => a[1].lastAccess - b[1].lastAccess);
      for (const [digest, entry] of order) {
        if (this.total <= maxBytes) break;
        await this.blobs.remove(digest);
        await this.meta.deleteBlob(digest);
        this.entries.delete(digest);
        this.total -= entry.size;
        report.evicted++;
        report.freedBytes += entry.size;
        this.onEvict(digest, entry.size);
      }
      return report;
    };
    const previous = this.evicting ?? Promise.resolve({ evicted: 0, freedBytes: 0 });
    const next = previous.then(run, run);
    this.evicting = next;
    return next;
  }
}
