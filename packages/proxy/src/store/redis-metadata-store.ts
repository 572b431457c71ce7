/**
 * Every key this store writes, and what keeps it from growing forever (test/proxy/redis-store.test.ts checks that
 * each key in a live store has a TTL or belongs to a pruned family here). `<k>` is a metaKey (a JSON array).
 *
 * | key                                   | type   | bounded by                                                        |
 * | ------------------------------------- | ------ | ----------------------------------------------------------------- |
 * | tollgate:manifest:<upstream,repo,dg>  | string | TTL 30 days, renewed on every write and read                      |
 * | tollgate:listing:<kind,up,repo,query> | string | TTL 30 days, renewed on every write                               |
 * | tollgate:lock:<name>                  | string | PX of the lock (SET NX PX), extended only by its owner            |
 * | tollgate:blob:<namespace>             | hash   | one field per blob in that blob store (retention deletes evicted  |
 * |                                       |        | ones); TTL 90 days renewed on every write and listing, so the     |
 * |                                       |        | table of a machine that is gone (a new pod name) goes too          |
 * | tollgate:verdict:<rev,up,repo,dg>     | string | pruneRevisions: removed once no proxy marks the revision live     |
 * | tollgate:admission:<rev,up,repo,dg>   | string | pruneRevisions                                                    |
 * | tollgate:parent:<rev,up,repo,dg>      | list   | pruneRevisions; at most 16 entries                                |
 * | tollgate:tag                          | hash   | pruneTags (gc) drops resolutions older than 30 days               |
 * | tollgate:revisions                    | hash   | field metaKey(revision, replica) → until: liveRevisions drops     |
 * |                                       |        | lapsed marks, a stopping replica removes its own                  |
 * | tollgate:health                       | hash   | one field per configured upstream                                 |
 * | tollgate:audit                        | stream | MAXLEN ~ AUDIT_MAX_EVENTS on every append, and trimAudit          |
 *
 * Needs Redis 7.0 or later (XADD with `<ms>-*` ids, GETEX).
 */
import { randomBytes } from 'node:crypto';
import { TollgateError } from '@tollgate/core';
import type { Verdict } from '../gate/types.js';
import { AUDIT_MAX_EVENTS, metaKey, parseRevisionMark, REVISION_TABLES, revisionMarkKey, revisionOfKey, stampAudit, firstAuditEvents, type Admission, type AuditEvent, type AuditRange, type BlobEntry, type CachedListing, type CachedManifest, type ListingKind, type MetadataStore, type TagEntry, type UpstreamHealth } from './metadata-store.js';
import { RedisConnection } from './redis-connection.js';

/** A stored value larger than this is not one the proxy wrote (manifests are capped at 4 MiB, base64 grows 4/3). */
const MAX_VALUE_BYTES = 8 * 1024 * 1024;
/** A manifest or listing nobody wrote or read for this long goes: the upstream has it, and its bytes are verified again. */
const UNUSED_TTL_MS = 30 * 86_400_000;
/** A blob table nobody wrote for this long belongs to a machine that is gone (a live one rebuilds its table at start). */
const BLOB_TABLE_TTL_MS = 90 * 86_400_000;
/** Compare-and-delete and compare-and-extend: a lock is only ever released or extended by its owner. */
const DELETE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const EXTEND_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/**
 * How far past `until` an audit scan reads stream ids: an event appended while another replica's entry was newer
 * is kept under the stream's next id, after its own time by that replica's clock lead (ms when clocks are kept in
 * sync). An event whose id is later than its time by more than this falls out of a window that ends just before it.
 */
export const AUDIT_ID_SLACK_MS = 60_000;
/** Audit stream entries read per round trip. */
const AUDIT_PAGE = 500;
/** Keys or fields per SCAN page and per DEL/HDEL. */
const BATCH = 1000;

function parse<T>(text: string | null | undefined): T | undefined {
  if (text === null || text === undefined) return undefined;
  if (text.length > MAX_VALUE_BYTES) throw new TollgateError('STORE_ERROR', 'a Redis metadata value is over 8 MiB; the store holds data tollgate did not write — use a database of its own');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TollgateError('STORE_ERROR', 'a Redis metadata value is not JSON; the store holds data tollgate did not write — use a database of its own');
  }
}

/** A stream id older than the newest one (another replica's clock is ahead): XADD refuses it. */
function isStaleStreamId(error: unknown): boolean {
  return error instanceof TollgateError && error.cause instanceof Error && /equal or smaller than the target stream top item/.test(error.cause.message);
}

/**
 * The metadata store on Redis, so several proxies can share tag resolutions, verdicts, admissions and the audit
 * trail. Records are plain keys under `tollgate:` (hashes for the tag and blob tables that gc walks, a stream for
 * the audit trail: its ids are the event times, so `since` is a range read). While Redis cannot be reached every
 * call fails with STORE_UNAVAILABLE, and the connection comes back by itself (see RedisConnection).
 */
export class RedisMetadataStore implements MetadataStore {
  readonly kind = 'redis';

  private readonly blobTable: string;

  private constructor(
    private readonly db: RedisConnection,
    blobNamespace: string,
  ) {
    this.blobTable = `tollgate:blob:${blobNamespace}`;
  }

  /**
   * Connects to `redis://[user:password@]host:port/db`; fails within ~5 s (instead of retrying forever) when the
   * server does not answer. `blobNamespace` names the local blob store whose sizes and access times the blob table
   * holds (each proxy has its own disk, so each has its own table; everything else is shared).
   */
  static async open(url: string, blobNamespace = 'default'): Promise<RedisMetadataStore> {
    return new RedisMetadataStore(await RedisConnection.open(url), blobNamespace);
  }

  private k(part: string, key: string): string {
    return `tollgate:${part}:${key}`;
  }

  private async getJson<T>(part: string, key: string): Promise<T | undefined> {
    return parse<T>(await this.db.run((r) => r.get(this.k(part, key))));
  }

  private async setJson(part: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
    const text = JSON.stringify(value);
    await this.db.run((r) => (ttlMs === undefined ? r.set(this.k(part, key), text) : r.set(this.k(part, key), text, { expiration: { type: 'PX', value: ttlMs } })));
  }

  async getTag(upstream: string, repository: string, tag: string): Promise<TagEntry | undefined> {
    return parse<TagEntry>(await this.db.run((r) => r.hGet('tollgate:tag', metaKey(upstream, repository, tag))));
  }

  async putTag(upstream: string, repository: string, tag: string, entry: TagEntry): Promise<void> {
    await this.db.run((r) => r.hSet('tollgate:tag', metaKey(upstream, repository, tag), JSON.stringify(entry)));
  }

  getListing(kind: ListingKind, upstream: string, repository: string, query: string): Promise<CachedListing | undefined> {
    return this.getJson('listing', metaKey(kind, upstream, repository, query));
  }

  async putListing(kind: ListingKind, upstream: string, repository: string, query: string, listing: CachedListing): Promise<void> {
    await this.setJson('listing', metaKey(kind, upstream, repository, query), listing, UNUSED_TTL_MS);
  }

  async getManifest(upstream: string, repository: string, digest: string): Promise<CachedManifest | undefined> {
    // GETEX renews the TTL: a manifest served from the cache every day stays, also while its upstream is down.
    const key = this.k('manifest', metaKey(upstream, repository, digest));
    const value = parse<{ data: string; mediaType: string }>(await this.db.run((r) => r.getEx(key, { type: 'PX', value: UNUSED_TTL_MS })));
    return value === undefined ? undefined : { bytes: new Uint8Array(Buffer.from(value.data, 'base64')), mediaType: value.mediaType };
  }

  async putManifest(upstream: string, repository: string, digest: string, manifest: CachedManifest): Promise<void> {
    await this.setJson('manifest', metaKey(upstream, repository, digest), { data: Buffer.from(manifest.bytes).toString('base64'), mediaType: manifest.mediaType }, UNUSED_TTL_MS);
  }

  getVerdict(revision: string, upstream: string, repository: string, digest: string): Promise<Verdict | undefined> {
    return this.getJson('verdict', metaKey(revision, upstream, repository, digest));
  }

  async putVerdict(revision: string, upstream: string, repository: string, digest: string, verdict: Verdict): Promise<void> {
    await this.setJson('verdict', metaKey(revision, upstream, repository, digest), verdict);
  }

  async admitBlobs(revision: string, upstream: string, repository: string, manifest: string, blobs: { digest: string; size: number }[]): Promise<void> {
    if (blobs.length === 0) return;
    await this.db.run((r) => {
      const multi = r.multi();
      for (const b of blobs) multi.set(this.k('admission', metaKey(revision, upstream, repository, b.digest)), JSON.stringify({ size: b.size, manifest }));
      return multi.exec();
    });
  }

  getAdmission(revision: string, upstream: string, repository: string, digest: string): Promise<Admission | undefined> {
    return this.getJson('admission', metaKey(revision, upstream, repository, digest));
  }

  async addParent(revision: string, upstream: string, repository: string, children: string[], parent: string): Promise<void> {
    if (children.length === 0) return;
    // A list per child, kept to the 16 newest distinct parents (LREM + RPUSH + LTRIM is atomic in MULTI).
    await this.db.run((r) => {
      const multi = r.multi();
      for (const child of children) {
        const key = this.k('parent', metaKey(revision, upstream, repository, child));
        multi.lRem(key, 0, parent).rPush(key, parent).lTrim(key, -16, -1);
      }
      return multi.exec();
    });
  }

  getParents(revision: string, upstream: string, repository: string, digest: string): Promise<string[]> {
    return this.db.run((r) => r.lRange(this.k('parent', metaKey(revision, upstream, repository, digest)), 0, 15));
  }

  async getBlob(digest: string): Promise<BlobEntry | undefined> {
    return parse<BlobEntry>(await this.db.run((r) => r.hGet(this.blobTable, digest)));
  }

  async putBlob(digest: string, entry: BlobEntry): Promise<void> {
    await this.db.run((r) => r.multi().hSet(this.blobTable, digest, JSON.stringify(entry)).pExpire(this.blobTable, BLOB_TABLE_TTL_MS).exec());
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.db.run((r) => r.hDel(this.blobTable, digest));
  }

  async listBlobs(): Promise<Map<string, BlobEntry>> {
    const out = new Map<string, BlobEntry>();
    await this.db.run((r) => r.pExpire(this.blobTable, BLOB_TABLE_TTL_MS));
    let cursor = '0';
    do {
      const page = await this.db.run((r) => r.hScan(this.blobTable, cursor, { COUNT: BATCH }));
      for (const { field, value } of page.entries) out.set(field, parse<BlobEntry>(value)!);
      cursor = page.cursor;
    } while (cursor !== '0');
    return out;
  }

  async putHealth(upstream: string, health: UpstreamHealth): Promise<void> {
    await this.db.run((r) => r.hSet('tollgate:health', upstream, JSON.stringify(health)));
  }

  async getHealth(upstream: string): Promise<UpstreamHealth | undefined> {
    return parse<UpstreamHealth>(await this.db.run((r) => r.hGet('tollgate:health', upstream)));
  }

  async audit(event: Omit<AuditEvent, 'at'>): Promise<AuditEvent> {
    const stamped = stampAudit(event);
    const fields = { e: JSON.stringify(stamped) };
    const trim = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: AUDIT_MAX_EVENTS } };
    try {
      // Stream ids are <ms>-<seq>: the id is the time, so since-queries are range reads.
      await this.db.run((r) => r.xAdd('tollgate:audit', `${stamped.at}-*`, fields, trim));
    } catch (error) {
      if (!isStaleStreamId(error)) throw error;
      // Another replica (a clock ahead, or a write that overtook this one) appended a later id: the event is kept
      // under the stream's next id, a few ms after its own time, rather than lost.
      await this.db.run((r) => r.xAdd('tollgate:audit', '*', fields, trim));
    }
    return stamped;
  }

  listAudit(limit = 100, options: AuditRange = {}): Promise<AuditEvent[]> {
    return firstAuditEvents(this.scanAudit(options), limit);
  }

  /**
   * The window is a stream id range. An entry's id is never earlier than its event's time (see audit()), so `since`
   * is the low id as it is; the high id is `until` plus AUDIT_ID_SLACK_MS for events kept under a later id, and
   * events outside the window by their own time are skipped.
   */
  async *scanAudit(options: AuditRange = {}): AsyncIterable<AuditEvent> {
    const since = options.since !== undefined ? Math.max(0, Math.ceil(options.since)) : undefined;
    const until = options.until !== undefined ? Math.floor(options.until) : undefined;
    if (until !== undefined && (until < 0 || (since !== undefined && since > until))) return;
    const low = since !== undefined ? String(since) : '-';
    let high = until !== undefined ? String(until + AUDIT_ID_SLACK_MS) : '+';
    for (;;) {
      const end = high;
      const page = (await this.db.run((r) => r.xRevRange('tollgate:audit', end, low, { COUNT: AUDIT_PAGE }))) ?? [];
      for (const entry of page) {
        const event = parse<AuditEvent>(entry.message.e);
        if (event === undefined || (since !== undefined && event.at < since) || (until !== undefined && event.at > until)) continue;
        yield event;
      }
      if (page.length < AUDIT_PAGE) return;
      high = `(${page[page.length - 1]!.id}`;
    }
  }

  async pruneTags(before: number): Promise<number> {
    const stale: string[] = [];
    let cursor = '0';
    do {
      const page = await this.db.run((r) => r.hScan('tollgate:tag', cursor, { COUNT: BATCH }));
      for (const { field, value } of page.entries) {
        const entry = parse<TagEntry>(value);
        if (entry !== undefined && entry.resolvedAt < before) stale.push(field);
      }
      cursor = page.cursor;
    } while (cursor !== '0');
    for (let i = 0; i < stale.length; i += BATCH) {
      const fields = stale.slice(i, i + BATCH);
      await this.db.run((r) => r.hDel('tollgate:tag', fields));
    }
    return stale.length;
  }

  // Revision marks: one hash, field metaKey(revision, replica) → until. A hash rather than a sorted set scored by
  // `until` (ZADD / ZRANGEBYSCORE / ZREMRANGEBYSCORE would do as well): the key already is a hash written by
  // proxies from before marks were per replica, and a rolling upgrade must not meet a WRONGTYPE on either side.
  // It holds replicas × revisions fields (tens), so reading it whole and HDEL-ing the lapsed ones is cheap.
  // Their old fields (the bare revision → until) are honoured until they lapse.

  async markRevisionLive(replica: string, revision: string, until: number): Promise<void> {
    await this.db.run((r) => r.hSet('tollgate:revisions', revisionMarkKey(revision, replica), String(until)));
  }

  async unmarkRevisions(replica: string, except?: ReadonlySet<string>): Promise<void> {
    const all = await this.db.run((r) => r.hKeys('tollgate:revisions'));
    const mine = all.filter((field) => {
      const mark = parseRevisionMark(field);
      return mark.replica === replica && !(except?.has(mark.revision) ?? false);
    });
    if (mine.length > 0) await this.db.run((r) => r.hDel('tollgate:revisions', mine));
  }

  async liveRevisions(now: number): Promise<Set<string>> {
    const all = await this.db.run((r) => r.hGetAll('tollgate:revisions'));
    const live = new Set<string>();
    const expired: string[] = [];
    for (const [field, until] of Object.entries(all)) {
      if (Number(until) > now) live.add(parseRevisionMark(field).revision);
      else expired.push(field);
    }
    if (expired.length > 0) await this.db.run((r) => r.hDel('tollgate:revisions', expired));
    return live;
  }

  async trimAudit(maxEvents: number): Promise<number> {
    return this.db.run((r) => r.xTrim('tollgate:audit', 'MAXLEN', maxEvents, { strategyModifier: '~' }));
  }

  async pruneRevisions(keep: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for (const table of REVISION_TABLES) {
      const prefix = `tollgate:${table}:`;
      let cursor = '0';
      do {
        // MATCH on the fixed prefix only: the rest of the key is JSON, whose characters MATCH would read as a glob.
        const page = await this.db.run((r) => r.scan(cursor, { MATCH: `${prefix}*`, COUNT: BATCH }));
        const stale = page.keys.filter((key) => {
          const revision = revisionOfKey(key.slice(prefix.length));
          return revision === undefined || !keep.has(revision);
        });
        if (stale.length > 0) removed += await this.db.run((r) => r.del(stale));
        cursor = page.cursor;
      } while (cursor !== '0');
    }
    return removed;
  }

  async tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(16).toString('hex');
    const result = await this.db.run((r) => r.set(this.k('lock', name), token, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }));
    return result === 'OK' ? token : undefined;
  }

  // EVAL rather than a cached script (EVALSHA): locks are taken once per download, and nothing to reload after a
  // Redis restart.
  async extendLock(name: string, token: string, ttlMs: number): Promise<boolean> {
    const result = await this.db.run((r) => r.eval(EXTEND_IF_OWNER, { keys: [this.k('lock', name)], arguments: [token, String(ttlMs)] }));
    return result === 1;
  }

  async releaseLock(name: string, token: string): Promise<void> {
    await this.db.run((r) => r.eval(DELETE_IF_OWNER, { keys: [this.k('lock', name)], arguments: [token] }));
  }

  async isLocked(name: string): Promise<boolean> {
    return (await this.db.run((r) => r.exists(this.k('lock', name)))) === 1;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
