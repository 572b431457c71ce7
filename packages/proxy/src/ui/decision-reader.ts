import type { ProxyCore } from '../serve/proxy-core.js';
import { decisionMatcher, PAGE_SIZE, VERDICTS, type DecisionFilter } from './decision-filter.js';
import { decisionView, parseDecisionId, type DecisionView } from './decision-view.js';

/**
 * Audit events one dashboard request reads at most. The stores scan newest first from `until` (else now) down to a
 * `since`, so a request is bounded by this, not by the size of the trail; a page that hit it says so (`truncated`)
 * and a narrower time range reaches further back.
 */
export const MAX_SCAN = 50_000;

export interface DecisionPage {
  decisions: DecisionView[];
  /** Per verdict, over every decision that passes the other filters (within the scan). */
  counts: Record<string, number>;
  page: number;
  pageSize: number;
  /** More matching decisions than this page shows (older ones). */
  hasMore: boolean;
  /** The scan stopped at MAX_SCAN events: older decisions were not looked at. */
  truncated: boolean;
  /** The newest decision's time among all that match (the live update's cursor). */
  newestAt?: number;
}

/** Whether the viewer may see a decision: the access rules must let them pull its repository. */
export type Visibility = (view: DecisionView) => boolean;

export function visibilityFor(core: ProxyCore, viewer: string): Visibility {
  return (view) => core.auth.allows(viewer, view.upstream, view.repository);
}

/** The decisions a viewer may see that match the filter, newest first, one page, with counts per verdict. */
export async function readDecisions(core: ProxyCore, visible: Visibility, filter: DecisionFilter): Promise<DecisionPage> {
  const matches = decisionMatcher(filter);
  const counts: Record<string, number> = Object.fromEntries(VERDICTS.map((v) => [v, 0]));
  const first = filter.page * PAGE_SIZE;
  const decisions: DecisionView[] = [];
  let matched = 0;
  let scanned = 0;
  let truncated = false;
  let newestAt: number | undefined;
  const since = Math.max(filter.since ?? 0, filter.after !== undefined ? filter.after : 0);
  // The store reads only the window: a range in the past does not spend MAX_SCAN on the events after it.
  const range = { ...(since > 0 ? { since } : {}), ...(filter.until !== undefined ? { until: filter.until } : {}) };
  for await (const event of core.meta.scanAudit(range)) {
    if (++scanned > MAX_SCAN) {
      truncated = true;
      break;
    }
    const view = decisionView(event);
    if (view === undefined || !matches(view) || !visible(view)) continue;
    counts[view.verdict] = (counts[view.verdict] ?? 0) + 1;
    if (filter.verdict !== undefined && view.verdict !== filter.verdict) continue;
    newestAt ??= view.at;
    if (matched >= first && decisions.length < PAGE_SIZE) decisions.push(view);
    matched++;
  }
  return { decisions, counts, page: filter.page, pageSize: PAGE_SIZE, hasMore: matched > first + decisions.length, truncated, ...(newestAt !== undefined ? { newestAt } : {}) };
}

/** One decision by id, if the viewer may see it (a decision they may not see is answered as not found). */
export async function readDecision(core: ProxyCore, visible: Visibility, id: string): Promise<DecisionView | undefined> {
  const at = parseDecisionId(id);
  if (at === undefined) return undefined;
  let scanned = 0;
  for await (const event of core.meta.scanAudit({ since: at })) {
    if (++scanned > MAX_SCAN * 4 || event.at < at) break;
    if (event.at !== at) continue;
    const view = decisionView(event);
    if (view !== undefined && view.id === id) return visible(view) ? view : undefined;
  }
  return undefined;
}

/** One digest a tag pointed at, as the proxy saw it. */
export interface TagHistoryEntry {
  digest: string;
  firstSeen: number;
  lastSeen: number;
  /** The verdict of the latest decision at that digest, and that decision's id. */
  verdict: string;
  decision: string;
  /** Decisions on this tag at this digest. */
  decisions: number;
  /** The digest the tag pointed at before (from the recorded tag move), when it moved here. */
  movedFrom?: string;
}

export interface TagHistory {
  upstream: string;
  repository: string;
  tag: string;
  /** Newest first. */
  entries: TagHistoryEntry[];
  /** The proxy's current resolution of the tag, and the digest it stays accepted at while pinned. */
  current?: { digest: string; resolvedAt: number; accepted?: string };
  truncated: boolean;
}

/** A tag's history from the verdict events that asked for it: each digest it pointed at, when, and the verdict. */
export async function readTagHistory(core: ProxyCore, visible: Visibility, upstream: string, repository: string, tag: string): Promise<TagHistory | undefined> {
  const probe = { upstream, repository } as DecisionView;
  if (!visible(probe)) return undefined;
  const byDigest = new Map<string, TagHistoryEntry>();
  const order: TagHistoryEntry[] = [];
  let scanned = 0;
  let truncated = false;
  for await (const event of core.meta.scanAudit()) {
    if (++scanned > MAX_SCAN) {
      truncated = true;
      break;
    }
    if (event.upstream !== upstream || event.repository !== repository) continue;
    const view = decisionView(event);
    if (view === undefined || view.tag !== tag || view.digest === undefined) continue;
    const known = byDigest.get(view.digest);
    // Newest first: the first decision seen at a digest is its latest.
    if (known === undefined) {
      const entry: TagHistoryEntry = { digest: view.digest, firstSeen: view.at, lastSeen: view.at, verdict: view.verdict, decision: view.id, decisions: 1 };
      byDigest.set(view.digest, entry);
      order.push(entry);
    } else {
      known.firstSeen = view.at;
      known.decisions++;
    }
    const entry = byDigest.get(view.digest)!;
    if (view.tagMove !== undefined && view.tagMove.to === view.digest) entry.movedFrom ??= view.tagMove.from;
  }
  const current = await core.meta.getTag(upstream, repository, tag).catch(() => undefined);
  return {
    upstream,
    repository,
    tag,
    entries: order.slice(0, 200),
    ...(current !== undefined ? { current: { digest: current.digest, resolvedAt: current.resolvedAt, ...(current.accepted !== undefined ? { accepted: current.accepted } : {}) } } : {}),
    truncated,
  };
}
