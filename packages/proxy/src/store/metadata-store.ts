import type { AuditEvent } from '../audit/event.js';
import type { Verdict } from '../gate/types.js';

export type { AuditEvent } from '../audit/event.js';

/** A tag's last resolution. */
export interface TagEntry {
  digest: string;
  mediaType: string;
  /** Milliseconds since the epoch. */
  resolvedAt: number;
  /**
   * With pinTags: the digest this tag was last accepted at, when it now resolves to another one not yet accepted
   * (absent when `digest` itself is accepted).
   */
  accepted?: string;
}

export interface CachedManifest {
  bytes: Uint8Array;
  mediaType: string;
}

/** A blob admitted in a repository by an allowed manifest. */
export interface Admission {
  size: number;
  manifest: string;
}

export interface BlobEntry {
  size: number;
  lastAccess: number;
}

export interface UpstreamHealth {
  ok: boolean;
  at: number;
  error?: string;
}

/**
 * Proxy metadata: tag resolutions, manifests, verdicts (keyed by policy revision), blob admissions per repository,
 * blob sizes and last access (for LRU), upstream health and the audit trail. Implemented on `level` (one process,
 * the default) and on Redis (several proxies sharing one store).
 */
/** The last answer an upstream gave to a listing (a tags page, a referrers index), kept for its outages. */
export interface CachedListing {
  value: unknown;
  /** When the upstream gave it (ms since the epoch). */
  at: number;
}

/** `image-diff`: the dashboard's file-level diff of a tag move (ui/diff), keyed by `<from>..<to>`, bounded in size. */
export type ListingKind = 'tags' | 'referrers' | 'image-diff';

export interface MetadataStore {
  /** `level` or `redis`, for logs and errors. */
  readonly kind: string;
  getTag(upstream: string, repository: string, tag: string): Promise<TagEntry | undefined>;
  putTag(upstream: string, repository: string, tag: string, entry: TagEntry): Promise<void>;
  getManifest(upstream: string, repository: string, digest: string): Promise<CachedManifest | undefined>;
  putManifest(upstream: string, repository: string, digest: string, manifest: CachedManifest): Promise<void>;
  getVerdict(revision: string, upstream: string, repository: string, digest: string): Promise<Verdict | undefined>;
  putVerdict(revision: string, upstream: string, repository: string, digest: string, verdict: Verdict): Promise<void>;
  /** Records the blobs an allowed manifest references as admitted in its repository. */
  admitBlobs(revision: string, upstream: string, repository: string, manifest: string, blobs: { digest: string; size: number }[]): Promise<void>;
  getAdmission(revision: string, upstream: string, repository: string, digest: string): Promise<Admission | undefined>;
  /** Records that an allowed index lists these manifests (the gate sees them as `parents`; at most 16 kept). */
  addParent(revision: string, upstream: string, repository: string, children: string[], parent: string): Promise<void>;
  getParents(revision: string, upstream: string, repository: string, digest: string): Promise<string[]>;
  /** `query` tells listings of one repository apart (a page's `n`/`last`, a digest and `artifactType`). */
  getListing(kind: ListingKind, upstream: string, repository: string, query: string): Promise<CachedListing | undefined>;
  putListing(kind: ListingKind, upstream: string, repository: string, query: string, listing: CachedListing): Promise<void>;
  getBlob(digest: string): Promise<BlobEntry | undefined>;
  putBlob(digest: string, entry: BlobEntry): Promise<void>;
  deleteBlob(digest: string): Promise<void>;
  listBlobs(): Promise<Map<string, BlobEntry>>;
  putHealth(upstream: string, health: UpstreamHealth): Promise<void>;
  getHealth(upstream: string): Promise<UpstreamHealth | undefined>;
  /** Appends an audit event stamped with the current time; returns the stored event. */
  audit(event: Omit<AuditEvent, 'at'>): Promise<AuditEvent>;
  /** The newest audit events first, at most `limit`, within the window. */
  listAudit(limit?: number, options?: AuditRange): Promise<AuditEvent[]>;
  /** Every audit event in the window newest first (read lazily, in pages; only the window is read). */
  scanAudit(options?: AuditRange): AsyncIterable<AuditEvent>;
  /** Removes tag entries resolved before `before` (gc); returns how many. */
  pruneTags(before: number): Promise<number>;
  /**
   * Removes verdicts, blob admissions and parent links made under any revision not in `keep` (a policy, trusted
   * root or mode that is no longer in force); returns how many records went. Without it they grow forever.
   */
  pruneRevisions(keep: ReadonlySet<string>): Promise<number>;
  /** Drops the oldest audit events beyond `maxEvents` (Redis trims approximately); returns how many went, if known. */
  trimAudit(maxEvents: number): Promise<number>;
  /**
   * Says that the running proxy `replica` (an id it drew at start, never reused) serves under `revision` until
   * `until` (ms since the epoch): each replica renews its own marks, so pruning keeps what any running one uses and
   * a replica that is gone stops holding its revisions once its marks lapse.
   */
  markRevisionLive(replica: string, revision: string, until: number): Promise<void>;
  /** Removes `replica`'s marks (all of them, or those on revisions not in `except`): a proxy that stops or moved on. */
  unmarkRevisions(replica: string, except?: ReadonlySet<string>): Promise<void>;
  /** The revisions some replica marked live until after `now` (expired marks are dropped). */
  liveRevisions(now: number): Promise<Set<string>>;
  /**
   * Cross-replica coordination (one download per blob, one evaluation per verdict, one evictor): takes the lock
   * `name` for `ttlMs` unless someone else holds it. Returns the owner token (to extend or release it), or undefined
   * when it is held. Correctness never depends on a lock, only how much work is repeated. Level: within the process.
   */
  tryLock(name: string, ttlMs: number): Promise<string | undefined>;
  /** Extends a lock this token still holds; false when it expired or another owner took it. */
  extendLock(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if this token still holds it (compare-and-delete); never throws for a lost lock. */
  releaseLock(name: string, token: string): Promise<void>;
  /** Whether anyone holds the lock now. */
  isLocked(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Keys of composite records: JSON arrays, so no component can forge a separator. */
export const metaKey = (...parts: string[]): string => JSON.stringify(parts);

/** The audit trail keeps at most about this many events, in every store. */
export const AUDIT_MAX_EVENTS = 1_000_000;

/** The records kept per gate revision (their keys start with the revision). */
export const REVISION_TABLES = ['verdict', 'admission', 'parent'] as const;

/** A revision mark's key: metaKey(revision, replica). */
export const revisionMarkKey = (revision: string, replica: string): string => metaKey(revision, replica);

/**
 * The (revision, replica) of a revision mark's key; a key that is not a metaKey pair is a mark written by a proxy
 * from before marks were per replica (the revision itself, `replica` undefined).
 */
export function parseRevisionMark(key: string): { revision: string; replica?: string } {
  try {
    const parts: unknown = JSON.parse(key);
    if (Array.isArray(parts) && parts.length === 2 && typeof parts[0] === 'string' && typeof parts[1] === 'string') return { revision: parts[0], replica: parts[1] };
  } catch {
    // not JSON: an old mark
  }
  return { revision: key };
}

/** The revision a revision-keyed record's metaKey starts with; undefined for a key that is not one. */
export function revisionOfKey(key: string): string | undefined {
  try {
    const parts: unknown = JSON.parse(key);
    return Array.isArray(parts) && typeof parts[0] === 'string' ? parts[0] : undefined;
  } catch {
    return undefined;
  }
}

/** The sort key of an audit event: zero-padded time then a sequence number. */
export function auditKey(at: number, seq: number): string {
  return `${String(at).padStart(15, '0')}-${String(seq % 1e6).padStart(6, '0')}`;
}

/** A window of audit event times (ms since the epoch), both ends inclusive; an open end is unbounded. */
export interface AuditRange {
  since?: number;
  until?: number;
}

/** Fills in `at` and `time`. */
export function stampAudit(event: Omit<AuditEvent, 'at'>, at = Date.now()): AuditEvent {
  return { ...event, at, time: new Date(at).toISOString() } as AuditEvent;
}


/** The first `limit` audit events of a scan (newest first): listAudit of every store. */
export async function firstAuditEvents(events: AsyncIterable<AuditEvent>, limit: number): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const event of events) {
    if (out.length >= limit) break;
    out.push(event);
  }
  return out;
}
