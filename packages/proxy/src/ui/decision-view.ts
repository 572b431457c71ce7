import { createHash } from 'node:crypto';
import type { AuditEvent, TagMove } from '../audit/event.js';
import type { VerdictEvidence } from '../gate/evidence.js';

/** A decision as the dashboard shows it (HTML) and answers it (JSON): one verdict event of the audit trail. */
export interface DecisionView {
  /** `<at>-<12 hex>`: the event's time and a hash of it, stable across reads and replicas. */
  id: string;
  at: number;
  time: string;
  verdict: string;
  upstream: string;
  repository: string;
  reference?: string;
  tag?: string;
  digest?: string;
  user?: string;
  client?: string;
  rule?: string;
  reasons: string[];
  policyRevision?: string;
  mode?: string;
  cached?: boolean;
  tagMove?: TagMove;
  annotations?: Record<string, string>;
  evidence?: VerdictEvidence;
}

const ID = /^(\d{1,15})-([0-9a-f]{12})$/;

/** The id of an audit event: its time and the first 12 hex digits of the sha256 of its stored JSON. */
export function decisionId(event: AuditEvent): string {
  return `${event.at}-${createHash('sha256').update(JSON.stringify(event)).digest('hex').slice(0, 12)}`;
}

/** The time an id names, or undefined for something that is not an id. */
export function parseDecisionId(id: string): number | undefined {
  const match = ID.exec(id);
  return match ? Number(match[1]) : undefined;
}

const text = (value: unknown, max = 1024): string | undefined => (typeof value === 'string' ? value.slice(0, max) : undefined);

/** A verdict event with an upstream and a repository, as a DecisionView; undefined for any other event. */
export function decisionView(event: AuditEvent): DecisionView | undefined {
  if (event.type !== 'verdict' || typeof event.upstream !== 'string' || typeof event.repository !== 'string') return undefined;
  const view: DecisionView = {
    id: decisionId(event),
    at: event.at,
    time: typeof event.time === 'string' ? event.time : new Date(event.at).toISOString(),
    verdict: text(event.verdict, 32) ?? 'unknown',
    upstream: event.upstream,
    repository: event.repository,
    reasons: Array.isArray(event.reasons) ? event.reasons.filter((r): r is string => typeof r === 'string').slice(0, 64) : [],
  };
  const optional: [keyof DecisionView, string | undefined][] = [
    ['reference', text(event.reference)],
    ['tag', text(event.tag) ?? (typeof event.reference === 'string' && !event.reference.includes(':') ? event.reference : undefined)],
    ['digest', text(event.digest, 200)],
    ['user', text(event.identity, 256)],
    ['client', text(event.client, 256)],
    ['rule', text(event.rule, 256)],
    ['policyRevision', text(event.policyRevision, 256)],
    ['mode', text(event.mode, 32)],
  ];
  for (const [key, value] of optional) if (value !== undefined) (view as unknown as Record<string, unknown>)[key] = value;
  if (typeof event.cached === 'boolean') view.cached = event.cached;
  const move = event.tagMove;
  if (move !== undefined && typeof move === 'object' && typeof move.from === 'string' && typeof move.to === 'string' && typeof move.tag === 'string') view.tagMove = { tag: move.tag, from: move.from, to: move.to };
  if (typeof event.annotations === 'object' && event.annotations !== null) view.annotations = event.annotations;
  if (typeof event.evidence === 'object' && event.evidence !== null) view.evidence = event.evidence;
  return view;
}
