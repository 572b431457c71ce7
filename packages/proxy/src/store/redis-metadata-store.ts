import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TollgateError } from '@tollgate/core';
import type { Verdict } from '../gate/types.js';
import { AUDIT_MAX_EVENTS, metaKey, REVISION_TABLES, revisionOfKey, stampAudit, firstAuditEvents, type Admission, type AuditEvent, type BlobEntry, type CachedListing, type CachedManifest, type ListingKind, type MetadataStore, type TagEntry, type UpstreamHealth } from './metadata-store.js';

/** A stored value larger than this is not one the proxy wrote (manifests are capped at 4 MiB, base64 grows 4/3). */
const MAX_VALUE_BYTES = 8 * 1024 * 1024;
/** Compare-and-delete and compare-and-extend: a lock is only ever released or extended by its owner. */
const DELETE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const EXTEND_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/** Audit stream entries read per round trip. */
const AUDIT_PAGE = 500;

function parse<T>(text: string | null): T | undefined {
  if (text === null) return undefined;
  if (text.length > MAX_VALUE_BYTES) throw new TollgateError('STORE_ERROR', 'a Redis metadata value is over 8 MiB; the store holds data tollgate did not write — use a database of its own');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TollgateError('STORE_ERROR', 'a Redis metadata value is not JSON; the store holds data tollgate did not write — use a database of its own');
  }
}

/**
 * The metadata store on Redis, so several proxies can share tag resolutions, verdicts, admissions and the audit
 * trail. Records are plain keys under `tollgate:` (hashes for the tag and blob tables that gc walks, a stream for
 * the audit trail: its ids are the event times, so `since` is a range read).
 */
export class RedisMetadataStore implements MetadataStore {
  readonly kind = 'redis';

  private readonly blobTable: string;

  private constructor(
    private readonly redis: Redis,
    blobNamespace: string,
  ) {
    this.blobTable = `tollgate:blob:${blobNamespace}`;
  }

  /**
   * Connects to `redis://host:port/db`; fails (instead of retrying forever) when the server does not answer.
   * `blobNamespace` names the local blob store whose sizes and access times the blob table holds (each proxy has
   * its own disk, so each has its own table; everything else is shared).
   */
  static async open(url: string, blobNamespace = 'default'): Promise<RedisMetadataStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5000, retryStrategy: (times) => (times > 20 ? null : Math.min(times * 100, 1000)) });
    redis.on('error', () => undefined); // surfaced through the failing commands
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      const where = new URL(url);
      throw new TollgateError('STORE_ERROR', `cannot reach the Redis metadata store at ${where.hostname}:${where.port || 6379}; check store.metadata and that redis-server runs`, { cause: error });
    }
    return new RedisMetadataStore(redis, blobNamespace);
  }

  private k(part: string, key: string): string {
    return `tollgate:${part}:${key}`;
  }

  private async getJson<T>(part: string, key: string): Promise<T | undefined> {
    return parse<T>(await this.redis.get(this.k(part, key)));
  }

  private async setJson(part: string, key: string, value: unknown): Promise<void> {
    await this.redis.set(this.k(part, key), JSON.stringify(value));
  }

  async getTag(upstream: string, repository: string, tag: string): Promise<TagEntry | undefined> {
    return parse<TagEntry>(await this.redis.hget('tollgate:tag', metaKey(upstream, repository, tag)));
  }

  async putTag(upstream: string, repository: string, tag: string, entry: TagEntry): Promise<void> {
    await this.redis.hset('tollgate:tag', metaKey(upstream, repository, tag), JSON.stringify(entry));
  }

  getListing(kind: ListingKind, upstream: string, repository: string, query: string): Promise<CachedListing | undefined> {
    return this.getJson('listing', metaKey(kind, upstream, repository, query));
  }

  async putListing(kind: ListingKind, upstream: string, repository: string, query: string, listing: CachedListing): Promise<void> {
    await this.setJson('listing', metaKey(kind, upstream, repository, query), listing);
  }

  async getManifest(upstream: string, repository: string, digest: string): Promise<CachedManifest | undefined> {
    const value = await this.getJson<{ data: string; mediaType: string }>('manifest', metaKey(upstream, repository, digest));
    return value === undefined ? undefined : { bytes: new Uint8Array(Buffer.from(value.data, 'base64')), mediaType: value.mediaType };
  }

  async putManifest(upstream: string, repository: string, digest: string, manifest: CachedManifest): Promise<void> {
    await this.setJson('manifest', metaKey(upstream, repository, digest), { data: Buffer.from(manifest.bytes).toString('base64'), mediaType: manifest.mediaType });
  }

  getVerdict(revision: string, upstream: string, repository: string, digest: string): Promise<Verdict | undefined> {
    return this.getJson('verdict', metaKey(revision, upstream, repository, digest));
  }

  async putVerdict(revision: string, upstream: string, repository: string, digest: string, verdict: Verdict): Promise<void> {
    await this.setJson('verdict', metaKey(revision, upstream, repository, digest), verdict);
  }

  async admitBlobs(revision: string, upstream: string, repository: string, manifest: string, blobs: { digest: string; size: number }[]): Promise<void> {
    const pipeline = this.redis.multi();
    for (const b of blobs) pipeline.set(this.k('admission', metaKey(revision, upstream, repository, b.digest)), JSON.stringify({ size: b.size, manifest }));
    await pipeline.exec();
  }

  getAdmission(revision: string, upstream: string, repository: string, digest: string): Promise<Admission | undefined> {
    return this.getJson('admission', metaKey(revision, upstream, repository, digest));
  }

  async addParent(revision: string, upstream: string, repository: string, children: string[], parent: string): Promise<void> {
    // A list per child, kept to the 16 newest distinct parents (LREM + RPUSH + LTRIM is atomic in MULTI).
    const pipeline = this.redis.multi();
    for (const child of children) {
      const key = this.k('parent', metaKey(revision, upstream, repository, child));
      pipeline.lrem(key, 0, parent).rpush(key, parent).ltrim(key, -16, -1);
    }
    await pipeline.exec();
  }

  async getParents(revision: string, upstream: string, repository: string, digest: string): Promise<string[]> {
    return this.redis.lrange(this.k('parent', metaKey(revision, upstream, repository, digest)), 0, 15);
  }

  async getBlob(digest: string): Promise<BlobEntry | undefined> {
    return parse<BlobEntry>(await this.redis.hget(this.blobTable, digest));
  }

  async putBlob(digest: string, entry: BlobEntry): Promise<void> {
    await this.redis.hset(this.blobTable, digest, JSON.stringify(entry));
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.redis.hdel(this.blobTable, digest);
  }

  async listBlobs(): Promise<Map<string, BlobEntry>> {
    const out = new Map<string, BlobEntry>();
    let cursor = '0';
    do {
      const [next, fields] = await this.redis.hscan(this.blobTable, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < fields.length; i += 2) out.set(fields[i]!, parse<BlobEntry>(fields[i + 1]!)!);
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  async putHealth(upstream: string, health: UpstreamHealth): Promise<void> {
    await this.redis.hset('tollgate:health', upstream, JSON.stringify(health));
  }

  async getHealth(upstream: string): Promise<UpstreamHealth | undefined> {
    return parse<UpstreamHealth>(await this.redis.hget('tollgate:health', upstream));
  }

  async audit(event: Omit<AuditEvent, 'at'>): Promise<AuditEvent> {
    const stamped = stampAudit(event);
    // Stream ids are <ms>-<seq>: the id is the time, so since-queries are range reads.
    await this.redis.xadd('tollgate:audit', 'MAXLEN', '~', String(AUDIT_MAX_EVENTS), `${stamped.at}-*`, 'e', JSON.stringify(stamped));
    return stamped;
  }

  listAudit(limit = 100, options: { since?: number } = {}): Promise<AuditEvent[]> {
    return firstAuditEvents(this.scanAudit(options), limit);
  }

  async *scanAudit(options: { since?: number } = {}): AsyncIterable<AuditEvent> {
    const low = options.since !== undefined ? String(Math.max(0, Math.floor(options.since))) : '-';
    let high = '+';
    for (;;) {
      const page = await this.redis.xrevrange('tollgate:audit', high, low, 'COUNT', AUDIT_PAGE);
      for (const [, fields] of page) {
        const i = fields.indexOf('e');
        const event = i >= 0 ? parse<AuditEvent>(fields[i + 1] ?? null) : undefined;
        if (event !== undefined) yield event;
      }
      if (page.length < AUDIT_PAGE) return;
      high = `(${page[page.length - 1]![0]}`;
    }
  }

  async pruneTags(before: number): Promise<number> {
    const stale: string[] = [];
    let cursor = '0';
    do {
      const [next, fields] = await this.redis.hscan('tollgate:tag', cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const entry = parse<TagEntry>(fields[i + 1]!);
        if (entry !== undefined && entry.resolvedAt < before) stale.push(fields[i]!);
      }
      cursor = next;
    } while (cursor !== '0');
    for (let i = 0; i < stale.length; i += 1000) await this.redis.hdel('tollgate:tag', ...stale.slice(i, i + 1000));
    return stale.length;
  }

  async markRevisionLive(revision: string, until: number): Promise<void> {
    await this.redis.hset('tollgate:revisions', revision, String(until));
  }

  async liveRevisions(now: number): Promise<Set<string>> {
    const all = await this.redis.hgetall('tollgate:revisions');
    const live = new Set<string>();
    const expired: string[] = [];
    for (const [revision, until] of Object.entries(all)) {
      if (Number(until) > now) live.add(revision);
      else expired.push(revision);
    }
    if (expired.length > 0) await this.redis.hdel('tollgate:revisions', ...expired);
    return live;
  }

  async trimAudit(maxEvents: number): Promise<number> {
    return this.redis.xtrim('tollgate:audit', 'MAXLEN', '~', maxEvents);
  }

  async pruneRevisions(keep: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for (const table of REVISION_TABLES) {
      const prefix = `tollgate:${table}:`;
      let cursor = '0';
      do {
        // MATCH on the fixed prefix only: the rest of the key is JSON, whose characters MATCH would read as a glob.
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        const stale = keys.filter((key) => {
          const revision = revisionOfKey(key.slice(prefix.length));
          return revision === undefined || !keep.has(revision);
        });
        if (stale.length > 0) removed += await this.redis.del(...stale);
        cursor = next;
      } while (cursor !== '0');
    }
    return removed;
  }

  async tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(16).toString('hex');
    const result = await this.redis.set(this.k('lock', name), token, 'PX', ttlMs, 'NX');
    return result === 'OK' ? token : undefined;
  }

  async extendLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    const result = await this.redis.eval(EXTEND_IF_OWNER, 1, this.k('lock', name), token, String(ttlMs));
    return result === 1;
  }

  async releaseLock(name: string, token: string): Promise<void> {
    await this.redis.eval(DELETE_IF_OWNER, 1, this.k('lock', name), token);
  }

  async isLocked(name: string): Promise<boolean> {
    return (await this.redis.exists(this.k('lock', name))) === 1;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
