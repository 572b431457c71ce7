import type { ProxyCore } from '../serve/proxy-core.js';
import { AUDIT_MAX_EVENTS } from './metadata-store.js';

/** How long a proxy's mark on its revisions lasts; renewed every RENEW_EVERY_MS, so a stopped proxy's lapses. */
export const REVISION_MARK_MS = 25 * 3600 * 1000;
const RENEW_EVERY_MS = 3600 * 1000;

/**
 * Keeps the metadata of gate revisions no proxy uses any more from growing forever: marks the revisions this proxy
 * serves under (its gate's, and `+warn` for warn-mode upstreams) as live, then removes verdicts, admissions and
 * parent links of every revision no proxy sharing the store has marked live. Run at start and every hour (a TUF
 * root refresh changes the revision while running). Another proxy's revision is kept while its mark lasts, so a
 * rolling policy change never pulls the verdicts from under a replica that still serves the old one.
 */
export async function pruneStaleRevisions(core: ProxyCore): Promise<number> {
  const now = core.now();
  const own = new Set(core.upstreams.map((u) => core.revisionFor(u)));
  for (const revision of own) await core.meta.markRevisionLive(revision, now + REVISION_MARK_MS);
  const keep = await core.meta.liveRevisions(now);
  for (const revision of own) keep.add(revision);
  const removed = await core.meta.pruneRevisions(keep);
  if (removed > 0) core.log.info({ removed, kept: [...keep] }, 'removed the metadata of gate revisions no proxy uses');
  return removed;
}

/** Runs pruneStaleRevisions now and every hour, tracked so shutdown waits for it; returns the stop function. */
export function scheduleRevisionHousekeeping(core: ProxyCore): () => void {
  const run = () => {
    core.track(pruneStaleRevisions(core).catch((error: unknown) => core.log.warn({ err: error }, 'pruning old gate revisions failed; will try again')));
    // Redis trims on every append; level's table is trimmed here, to the same bound.
    core.track(core.meta.trimAudit(AUDIT_MAX_EVENTS).catch((error: unknown) => core.log.warn({ err: error }, 'trimming the audit trail failed; will try again')));
  };
  run();
  const timer = setInterval(run, RENEW_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
