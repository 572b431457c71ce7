import { randomUUID } from 'node:crypto';
import type { ProxyCore } from '../serve/proxy-core.js';
import { AUDIT_MAX_EVENTS } from './metadata-store.js';
import { takeLock } from './peer-lock.js';

/** How long a replica's mark on a revision lasts: a replica killed without closing stops holding it after this. */
export const REVISION_MARK_MS = 15 * 60_000;
/** A running replica renews its marks this often: two renewals may fail (Redis briefly away) before one lapses. */
export const RENEW_EVERY_MS = 5 * 60_000;
/** Pruning (a SCAN over the revision-keyed tables) runs at start, hourly, and when a revision stopped being live. */
export const PRUNE_EVERY_MS = 3600_000;
/** The store lock that lets one replica at a time prune. */
export const PRUNE_LOCK = 'revision-prune';
/** The audit trail is trimmed at start and this often (level walks its table to do it). */
const TRIM_EVERY_MS = 3600_000;

/** What housekeeping needs of the proxy: its clock, store, upstreams' revisions and log. */
export type HousekeepingCore = Pick<ProxyCore, 'now' | 'meta' | 'upstreams' | 'revisionFor' | 'log'>;

export interface HousekeepingRun {
  /** The revisions live after this run's renewal (marked by some replica, or this proxy's own). */
  live: string[];
  /** Whether this run pruned (false: nothing lapsed since the last prune, or a peer replica held the prune lock). */
  pruned: boolean;
  removed: number;
}

/**
 * Keeps the metadata of gate revisions no proxy uses any more from staying: verdicts, admissions and parent links
 * are keyed by revision (the gate's, and `+warn` for warn-mode upstreams), and a revision no running replica serves
 * under is dead weight.
 *
 * Each running proxy is a replica with a random id drawn at start (never reused, so a restarted proxy is a new
 * replica): every RENEW_EVERY_MS it marks (replica, revision) live for REVISION_MARK_MS, and at a graceful close it
 * removes its marks (release), so a rolling restart frees the old revision at once; a killed replica's marks lapse
 * within REVISION_MARK_MS. Pruning keeps every revision some replica marks live plus this proxy's own, and runs at
 * start, hourly, and when the live set lost a member since the previous look — not at every renewal — under the
 * PRUNE_LOCK store lock, so one replica at a time does it. A replica that finds the lock held tries again at its
 * next renewal (the holder may have read the live set before the loss).
 *
 * Correctness: a revision a running replica serves under is kept while its marks last, and a proxy always keeps its
 * own. A replica that cannot renew for REVISION_MARK_MS (Redis unreachable from it) can have its revision's records
 * pruned by a peer; while it cannot reach Redis it serves nothing anyway (503), and afterwards it re-marks at the
 * next renewal and finds its records missing, which is safe: a missing verdict is evaluated again, a missing
 * admission refuses the blob (BLOB_UNKNOWN) until the manifest is pulled again — never a pull served under a
 * decision that was not made. The same holds for a record written just before its replica's first mark. Marks
 * compare `until` with the reader's clock: replicas' clocks must agree to well within REVISION_MARK_MS.
 */
export class RevisionHousekeeping {
  /** This proxy's replica id. */
  readonly replica: string;
  /** The revisions this replica marked at its last renewal. */
  private marked = new Set<string>();
  /** The live revisions at the previous look; undefined before the first. */
  private seen: Set<string> | undefined;
  /** A prune is owed: at start, hourly, after a loss; cleared by a prune of this process. */
  private pruneDue = true;
  private lastPrune = Number.NEGATIVE_INFINITY;
  private lastTrim = Number.NEGATIVE_INFINITY;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly core: HousekeepingCore,
    replica: string = randomUUID(),
  ) {
    this.replica = replica;
  }

  /** Renews this replica's marks and prunes when due; runs one at a time. */
  run(): Promise<HousekeepingRun> {
    const next = this.queue.then(() => this.runOnce());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private ownRevisions(): Set<string> {
    return new Set(this.core.upstreams.map((u) => this.core.revisionFor(u)));
  }

  private async runOnce(): Promise<HousekeepingRun> {
    const { meta } = this.core;
    const now = this.core.now();
    const own = this.ownRevisions();
    for (const revision of own) await meta.markRevisionLive(this.replica, revision, now + REVISION_MARK_MS);
    // The revision changed while running (a TUF root refresh): the old one is not this replica's any more.
    if ([...this.marked].some((revision) => !own.has(revision))) await meta.unmarkRevisions(this.replica, own);
    this.marked = own;
    const live = await meta.liveRevisions(now);
    for (const revision of own) live.add(revision);
    if (this.seen !== undefined && [...this.seen].some((revision) => !live.has(revision))) this.pruneDue = true;
    this.seen = live;
    if (now - this.lastPrune >= PRUNE_EVERY_MS) this.pruneDue = true;
    if (!this.pruneDue) return { live: [...live], pruned: false, removed: 0 };

    const lock = await takeLock(meta, PRUNE_LOCK);
    if (lock === undefined) return { live: [...live], pruned: false, removed: 0 };
    try {
      // Read again under the lock: a mark made since the look above is kept.
      const keep = await meta.liveRevisions(this.core.now());
      for (const revision of own) keep.add(revision);
      const removed = await meta.pruneRevisions(keep);
      this.pruneDue = false;
      this.lastPrune = now;
      this.seen = keep;
      if (removed > 0) this.core.log.info({ removed, kept: [...keep] }, 'removed the metadata of gate revisions no proxy uses');
      return { live: [...keep], pruned: true, removed };
    } finally {
      await lock.release();
    }
  }

  /** Runs now and every RENEW_EVERY_MS (and trims the audit trail at start and hourly), tracked so shutdown waits. */
  start(track: (work: Promise<unknown>) => void): void {
    if (this.started) return;
    this.started = true;
    const tick = () => {
      track(this.run().catch((error: unknown) => this.core.log.warn({ err: error }, 'renewing or pruning gate revisions failed; will try again')));
      const now = this.core.now();
      if (now - this.lastTrim < TRIM_EVERY_MS) return;
      this.lastTrim = now;
      // Redis trims on every append; level's table is trimmed here, to the same bound.
      track(this.core.meta.trimAudit(AUDIT_MAX_EVENTS).catch((error: unknown) => this.core.log.warn({ err: error }, 'trimming the audit trail failed; will try again')));
    };
    tick();
    this.timer = setInterval(tick, RENEW_EVERY_MS);
    this.timer.unref();
  }

  /** Stops renewing (the marks stay until release or until they lapse). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A graceful stop: stops renewing and removes this replica's marks, so the next prune of a peer drops a revision
   * nobody else serves under. Call once the proxy no longer serves (after its background work settled).
   */
  async release(): Promise<void> {
    this.stop();
    await this.queue;
    if (!this.started) return;
    this.started = false;
    this.marked = new Set();
    await this.core.meta.unmarkRevisions(this.replica);
  }
}
