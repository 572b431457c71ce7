import { waitForPeer } from './peer-lock.js';
import type { BlobStore } from './blobs/types.js';
import type { MetadataStore } from './metadata-store.js';
import type { BlobRetention, EvictionReport } from './retention.js';

/** How often a blob's last access is written to the shared table (reads in between are remembered here). */
const PERSIST_ACCESS_EVERY_MS = 60_000;
/** Last-write times remembered per process before the memory is cleared (a bound, not a cache policy). */
const MAX_REMEMBERED = 100_000;
/** How long gc waits for a replica's eviction pass to end before giving up. */
const GC_LOCK_WAIT_MS = 60_000;
/** The lock that lets one replica at a time reconcile or evict. */
const RETENTION_LOCK = 'retention';
/** Longest a reconciliation or eviction pass may hold the lock (it is not extended: passes are short). */
const RETENTION_LOCK_MS = 5 * 60_000;

/**
 * Size-bounded LRU over a blob store shared by replicas (S3): sizes and last access live in the shared metadata
 * table, every replica writes its reads there (at most once a minute per blob), and eviction runs on one replica at
 * a time under a lock, from the shared table, so no replica evicts on a partial view. A blob a peer is still
 * streaming may be deleted under it: that client sees a cut body and its retry fetches the blob again.
 */
export class SharedRetention implements BlobRetention {
  private total = 0;
  private blobs = 0;
  private readonly persisted = new Map<string, number>();

  constructor(
    private readonly store: BlobStore,
    private readonly meta: MetadataStore,
    private readonly maxBytes: number,
    private readonly onEvict: (digest: string, size: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get totalBytes(): number {
    return this.total;
  }

  get count(): number {
    return this.blobs;
  }

  /**
   * Objects without metadata are adopted (a replica died between the upload and the record); metadata without an
   * object is dropped. Never deletes an object: an upload in progress is invisible until complete.
   */
  async load(options: { wait?: boolean } = {}): Promise<void> {
    await this.underLock(options.wait === true, async () => {
      const stored = await this.store.scan();
      const known = await this.meta.listBlobs();
      for (const digest of known.keys()) if (!stored.has(digest)) await this.meta.deleteBlob(digest);
      for (const [digest, blob] of stored) {
        const entry = known.get(digest);
        if (entry === undefined || entry.size !== blob.size) await this.meta.putBlob(digest, { size: blob.size, lastAccess: entry?.lastAccess ?? blob.mtimeMs });
      }
    });
    await this.refreshTotals();
  }

  async added(digest: string, size: number): Promise<void> {
    const now = this.now();
    this.remember(digest, now);
    const existing = await this.meta.getBlob(digest);
    await this.meta.putBlob(digest, { size, lastAccess: now });
    if (existing === undefined) {
      this.total += size;
      this.blobs++;
    }
    if (this.total > this.maxBytes) await this.enforce(digest);
  }

  touch(digest: string): void {
    const now = this.now();
    if (now - (this.persisted.get(digest) ?? 0) < PERSIST_ACCESS_EVERY_MS) return;
    this.remember(digest, now);
    void (async () => {
      const entry = await this.meta.getBlob(digest);
      if (entry !== undefined) await this.meta.putBlob(digest, { size: entry.size, lastAccess: now });
    })().catch(() => undefined);
  }

  /** Evicts least recently used blobs (by the shared table) until the store fits; a peer evicting → nothing here. */
  async enforce(keep?: string, maxBytes = this.maxBytes, options: { wait?: boolean } = {}): Promise<EvictionReport> {
    const report: EvictionReport = { evicted: 0, freedBytes: 0 };
    await this.underLock(options.wait === true, async () => {
      const entries = await this.meta.listBlobs();
      let total = 0;
      for (const entry of entries.values()) total += entry.size;
      const order = [...entries.entries()].filter(([d]) => d !== keep).sort((a, b) => a[1].lastAccess - b[1].lastAccess);
      for (const [digest, entry] of order) {
        if (total <= maxBytes) break;
        await this.store.remove(digest);
        await this.meta.deleteBlob(digest);
        total -= entry.size;
        report.evicted++;
        report.freedBytes += entry.size;
        this.persisted.delete(digest);
        this.onEvict(digest, entry.size);
      }
    });
    await this.refreshTotals();
    return report;
  }

  private async refreshTotals(): Promise<void> {
    const entries = await this.meta.listBlobs();
    let total = 0;
    for (const entry of entries.values()) total += entry.size;
    this.total = total;
    this.blobs = entries.size;
  }

  private remember(digest: string, at: number): void {
    if (this.persisted.size >= MAX_REMEMBERED) this.persisted.clear();
    this.persisted.set(digest, at);
  }

  /** Runs `work` holding the retention lock; a peer holds it → skipped, or (`wait`, gc) waited for, up to a minute. */
  private async underLock(wait: boolean, work: () => Promise<void>): Promise<boolean> {
    let token = await this.meta.tryLock(RETENTION_LOCK, RETENTION_LOCK_MS);
    if (token === undefined && wait) {
      token = await waitForPeer(this.meta, RETENTION_LOCK, () => this.meta.tryLock(RETENTION_LOCK, RETENTION_LOCK_MS), GC_LOCK_WAIT_MS);
    }
    if (token === undefined) return false;
    try {
      await work();
      return true;
    } finally {
      await this.meta.releaseLock(RETENTION_LOCK, token);
    }
  }
}
