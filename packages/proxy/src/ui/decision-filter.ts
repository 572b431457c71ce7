import { TollgateError } from '@tollgate/core';
import picomatch from 'picomatch';
import { checkAuditWindow, parseAuditTime } from '../audit/audit-time.js';
import type { DecisionView } from './decision-view.js';

export const VERDICTS = ['allow', 'deny', 'warn', 'indeterminate'] as const;
export type VerdictName = (typeof VERDICTS)[number];

/** The Decisions page's filters, from its query string (the same for HTML and JSON). */
export interface DecisionFilter {
  verdict?: VerdictName;
  upstream?: string;
  /** A glob over `<upstream>/<repository>` (also matched against `<repository>`). */
  repository?: string;
  rule?: string;
  user?: string;
  /** ms since the epoch, inclusive. */
  since?: number;
  /** ms since the epoch, inclusive. */
  until?: number;
  /** Only decisions after this time (the live update's cursor). */
  after?: number;
  /** 0-based page of PAGE_SIZE decisions. */
  page: number;
}

export const PAGE_SIZE = 50;
const MAX_PAGE = 1000;
const MAX_VALUE = 256;

/** The filter's fields as the form and the links write them. */
export const FILTER_KEYS = ['verdict', 'upstream', 'repository', 'rule', 'user', 'since', 'until'] as const;

function one(query: Record<string, unknown>, key: string): string | undefined {
  const raw = query[key];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed.length > MAX_VALUE) throw new TollgateError('USAGE', `the ${key} filter is longer than ${MAX_VALUE} characters`);
  return trimmed;
}

function time(query: Record<string, unknown>, key: string, now: number): number | undefined {
  const value = one(query, key);
  if (value === undefined) return undefined;
  // The same times as `tollgate audit --since/--until`; the error names the filter, not the text (the page shows it).
  return parseAuditTime(value, `the ${key} filter`, now);
}

/** Reads the filters strictly: an unknown verdict, an unreadable time or page is a USAGE error the page shows. */
export function parseDecisionFilter(query: unknown, now: number): DecisionFilter {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const filter: DecisionFilter = { page: 0 };
  const verdict = one(q, 'verdict');
  if (verdict !== undefined) {
    if (!(VERDICTS as readonly string[]).includes(verdict)) throw new TollgateError('USAGE', `the verdict filter must be one of ${VERDICTS.join(', ')}`);
    filter.verdict = verdict as VerdictName;
  }
  for (const key of ['upstream', 'repository', 'rule', 'user'] as const) {
    const value = one(q, key);
    if (value !== undefined) filter[key] = value;
  }
  const since = time(q, 'since', now);
  if (since !== undefined) filter.since = since;
  const until = time(q, 'until', now);
  if (until !== undefined) filter.until = until;
  checkAuditWindow(since, until, { since: 'the since filter', until: 'the until filter' });
  const after = one(q, 'after');
  if (after !== undefined) {
    if (!/^\d{1,15}$/.test(after)) throw new TollgateError('USAGE', 'after must be a time in ms since the epoch');
    filter.after = Number(after);
  }
  const page = one(q, 'page');
  if (page !== undefined) {
    if (!/^\d{1,4}$/.test(page) || Number(page) > MAX_PAGE) throw new TollgateError('USAGE', `page must be a number from 0 to ${MAX_PAGE}`);
    filter.page = Number(page);
  }
  return filter;
}

/** Whether a decision passes every filter but the verdict (the counts per verdict are over these). */
export function decisionMatcher(filter: DecisionFilter): (view: DecisionView) => boolean {
  const glob = filter.repository !== undefined ? picomatch(filter.repository, { dot: true }) : undefined;
  return (view) => {
    if (filter.upstream !== undefined && view.upstream !== filter.upstream) return false;
    if (glob !== undefined && !glob(`${view.upstream}/${view.repository}`) && !glob(view.repository)) return false;
    if (filter.rule !== undefined && view.rule !== filter.rule) return false;
    if (filter.user !== undefined && view.user !== filter.user) return false;
    if (filter.since !== undefined && view.at < filter.since) return false;
    if (filter.until !== undefined && view.at > filter.until) return false;
    if (filter.after !== undefined && view.at <= filter.after) return false;
    return true;
  };
}

/** The filter as query parameters (for links that keep it: pages, the JSON twin). */
export function filterQuery(query: unknown): Record<string, string> {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = one(q, key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}
