import { ProcessLocks } from './process-locks.js';
import { Level } from 'level';
import type { Verdict } from '../gate/types.js';
import { auditKey, metaKey, parseRevisionMark, REVISION_TABLES, revisionMarkKey, revisionOfKey, stampAudit, firstAuditEvents, type Admission, type AuditEvent, type AuditRange, type BlobEntry, type CachedListing, type CachedManifest, type ListingKind, type MetadataStore, type TagEntry, type UpstreamHealth } from './metadata-store.js';

type Json = Record<string, unknown>;
const key = metaKey;

/** The metadata store in `level` (`<dataDir>/meta`): fast, embedded, one process at a time. */
export class LevelMetadataStore implements MetadataStore {
  readonly kind = 'level';
  private seq = 0;

  private readonly locks = new ProcessLocks();

  private constructor(private readonly db: Level<string, Json>) {}

  tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    return this.locks.tryLock(name, ttlMs);
  }

  extendLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    return this.locks.extendLock(name, token, ttlMs);
  }

  releaseLock(name: string, token: string): Promise<void> {
    return this.locks.releaseLock(name, token);
  }

  isLocked(name: string): Promise<boolean> {
    return this.locks.isLocked(name);
  }

  static async open(location: string): Promise<LevelMetadataStore> {
    const db = new Level<string, Json>(location, { valueEncoding: 'json' });
    await db.open();
    return new LevelMetadataStore(db);
  }

  private part(name: string) {
    return this.db.sublevel<string, Json>(name, { valueEncoding: 'json' });
  }

  private async read<T>(name: string, k: string): Promise<T | undefined> {
    return (await this.part(name).get(k)) as T | undefined;
  }

  getTag(upstream: string, repository: string, tag: string): Promise<TagEntry | undefined> {
    return this.read('tag', key(upstream, repository, tag));
  }

  async putTag(upstream: string, repository: string, tag: string, entry: TagEntry): Promise<void> {
    await this.part('tag').put(key(upstream, repository, tag), { ...entry });
  }

  async getManifest(upstream: string, repository: string, digest: string): Promise<CachedManifest | undefined> {
    const value = await this.read<{ data: string; mediaType: string }>('manifest', key(upstream, repository, digest));
    return value === undefined ? undefined : { bytes: new Uint8Array(Buffer.from(value.data, 'base64')), mediaType: value.mediaType };
  }

  async putManifest(upstream: string, repository: string, digest: string, manifest: CachedManifest): Promise<void> {
    await this.part('manifest').put(key(upstream, repository, digest), { data: Buffer.from(manifest.bytes).toString('base64'), mediaType: manifest.mediaType });
  }

  getVerdict(revision: string, upstream: string, repository: string, digest: string): Promise<Verdict | undefined> {
    return this.read('verdict', key(revision, upstream, repository, digest));
  }

  async putVerdict(revision: string, upstream: string, repository: string, digest: string, verdict: Verdict): Promise<void> {
    await this.part('verdict').put(key(revision, upstream, repository, digest), { ...verdict });
  }

  /** Records the blobs an allowed manifest references as admitted in its repository. */
  async admitBlobs(revision: string, upstream: string, repository: string, manifest: string, blobs: { digest: string; size: number }[]): Promise<void> {
    const part = this.part('admission');
    await part.batch(blobs.map((b) => ({ type: 'put' as const, key: key(revision, upstream, repository, b.digest), value: { size: b.size, manifest } })));
  }

  getAdmission(revision: string, upstream: string, repository: string, digest: string): Promise<Admission | undefined> {
    return this.read('admission', key(revision, upstream, repository, digest));
  }

  /** Records that an allowed index lists these manifests (the gate sees them as `parents`). */
  async addParent(revision: string, upstream: string, repository: string, children: string[], parent: string): Promise<void> {
    const part = this.part('parent');
    for (const child of children) {
      const k = key(revision, upstream, repository, child);
      const current = ((await part.get(k)) as { parents?: string[] } | undefined)?.parents ?? [];
      if (!current.includes(parent)) await part.put(k, { parents: [...current, parent].slice(-16) });
    }
  }

  async getParents(revision: string, upstream: string, repository: string, digest: string): Promise<string[]> {
    return (await this.read<{ parents: string[] }>('parent', key(revision, upstream, repository, digest)))?.parents ?? [];
  }

  getListing(kind: ListingKind, upstream: string, repository: string, query: string): Promise<CachedListing | undefined> {
    return this.read('listing', key(kind, upstream, repository, query));
  }

  async putListing(kind: ListingKind, upstream: string, repository: string, query: string, listing: CachedListing): Promise<void> {
    await this.part('listing').put(key(kind, upstream, repository, query), { ...listing });
  }

  getBlob(digest: string): Promise<BlobEntry | undefined> {
    return this.read('blob', digest);
  }

  async putBlob(digest: string, entry: BlobEntry): Promise<void> {
    await this.part('blob').put(digest, { ...entry });
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.part('blob').del(digest);
  }

  async listBlobs(): Promise<Map<string, BlobEntry>> {
    const out = new Map<string, BlobEntry>();
    for await (const [k, v] of this.part('blob').iterator()) out.set(k, v as unknown as BlobEntry);
    return out;
  }

  async putHealth(upstream: string, health: UpstreamHealth): Promise<void> {
    await this.part('health').put(upstream, { ...health });
  }

  getHealth(upstream: string): Promise<UpstreamHealth | undefined> {
    return this.read('health', upstream);
  }

  async audit(event: Omit<AuditEvent, 'at'>): Promise<AuditEvent> {
    const stamped = stampAudit(event);
    await this.part('audit').put(auditKey(stamped.at, this.seq++), stamped as Json);
    return stamped;
  }

  listAudit(limit = 100, options: AuditRange = {}): Promise<AuditEvent[]> {
    return firstAuditEvents(this.scanAudit(options), limit);
  }

  async *scanAudit(options: AuditRange = {}): AsyncIterable<AuditEvent> {
    // Keys are <at>-<seq>, zero-padded: time-ordered, so the window is a key range and nothing outside it is read.
    const range: { gte?: string; lt?: string } = {};
    if (options.since !== undefined) range.gte = auditKey(Math.max(0, Math.ceil(options.since)), 0);
    if (options.until !== undefined) {
      if (options.until < 0) return;
      range.lt = auditKey(Math.floor(options.until) + 1, 0);
    }
    if (range.gte !== undefined && range.lt !== undefined && range.gte >= range.lt) return;
    for await (const [, v] of this.part('audit').iterator({ reverse: true, ...range })) yield v as unknown as AuditEvent;
  }

  /** Removes tag entries resolved before `before` (gc). */
  async pruneTags(before: number): Promise<number> {
    const part = this.part('tag');
    const stale: string[] = [];
    for await (const [k, v] of part.iterator()) if ((v as unknown as TagEntry).resolvedAt < before) stale.push(k);
    await part.batch(stale.map((k) => ({ type: 'del' as const, key: k })));
    return stale.length;
  }

  // Marks keyed metaKey(revision, replica), as on Redis. One process opens the store, so every mark but its own is
  // a previous run's: those lapse like a killed replica's. A key from before marks were per replica (the bare
  // revision, lasting 25 h) can only be an older run's too, and is dropped.

  async markRevisionLive(replica: string, revision: string, until: number): Promise<void> {
    await this.part('revision').put(revisionMarkKey(revision, replica), { until });
  }

  async unmarkRevisions(replica: string, except?: ReadonlySet<string>): Promise<void> {
    const mine: string[] = [];
    for await (const k of this.part('revision').keys()) {
      const mark = parseRevisionMark(k);
      if (mark.replica === replica && !(except?.has(mark.revision) ?? false)) mine.push(k);
    }
    await this.part('revision').batch(mine.map((key) => ({ type: 'del' as const, key })));
  }

  async liveRevisions(now: number): Promise<Set<string>> {
    const live = new Set<string>();
    const expired: string[] = [];
    for await (const [k, v] of this.part('revision').iterator()) {
      const mark = parseRevisionMark(k);
      if (mark.replica !== undefined && typeof v.until === 'number' && v.until > now) live.add(mark.revision);
      else expired.push(k);
    }
    await this.part('revision').batch(expired.map((key) => ({ type: 'del' as const, key })));
    return live;
  }

  async trimAudit(maxEvents: number): Promise<number> {
    const part = this.part('audit');
    let seen = 0;
    return deleteWhere(part, part.keys({ reverse: true }), () => ++seen > maxEvents);
  }

  async pruneRevisions(keep: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for (const table of REVISION_TABLES) {
      const part = this.part(table);
      removed += await deleteWhere(part, part.keys(), (k) => {
        const revision = revisionOfKey(k);
        return revision === undefined || !keep.has(revision);
      });
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Deletes, in batches, the keys `stale` picks as `keys` goes by; returns how many. */
async function deleteWhere(part: { batch(ops: { type: 'del'; key: string }[]): Promise<void> }, keys: AsyncIterable<string>, stale: (key: string) => boolean): Promise<number> {
  let batch: string[] = [];
  let removed = 0;
  const flush = async () => {
    await part.batch(batch.map((key) => ({ type: 'del' as const, key })));
    removed += batch.length;
    batch = [];
  };
  for await (const key of keys) {
    if (!stale(key)) continue;
    batch.push(key);
    if (batch.length >= 1000) await flush();
  }
  await flush();
  return removed;
}
