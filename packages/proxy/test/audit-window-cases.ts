/**
 * Audit events at known times, and the windows every audit reader (level, Redis, audit.file) must cut the same way:
 * `since` and `until` both inclusive, to the millisecond.
 */
import { expect, vi } from 'vitest';
import type { AuditEvent, AuditQuery } from '../src/audit/event.js';
import type { MetadataStore } from '../src/store/metadata-store.js';

export const T0 = Date.parse('2025-01-28T00:00:00Z');
export const HOUR = 3_600_000;
/** One verdict an hour from T0, repository `r<hour>`, and a second one (`r5b`) in the same millisecond as r5. */
export const PLAN: { at: number; repository: string }[] = [
  ...Array.from({ length: 24 }, (_, i) => ({ at: T0 + i * HOUR, repository: `r${i}` })),
  { at: T0 + 5 * HOUR, repository: 'r5b' },
].sort((a, b) => a.at - b.at);

export function planEvent(p: { at: number; repository: string }): AuditEvent {
  return { type: 'verdict', at: p.at, time: new Date(p.at).toISOString(), upstream: 'hub', repository: p.repository, verdict: p.repository === 'r7' ? 'deny' : 'allow' };
}

/** Records the plan through the store's own audit(), its clock set to each event's time. */
export async function recordPlan(store: MetadataStore): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    for (const p of PLAN) {
      vi.setSystemTime(p.at);
      const { at: _at, time: _time, ...event } = planEvent(p);
      expect((await store.audit(event)).at).toBe(p.at);
    }
  } finally {
    vi.useRealTimers();
  }
}

/** The windows, through a reader that answers a query oldest first (queryAuditStore, queryAuditFile). */
export async function expectWindows(read: (query: AuditQuery) => Promise<AuditEvent[]>): Promise<void> {
  const names = async (query: AuditQuery) => (await read(query)).map((e) => e.repository);
  // Both bounds inclusive: events exactly at since and at until are in.
  expect(await names({ since: T0 + 2 * HOUR, until: T0 + 5 * HOUR })).toEqual(['r2', 'r3', 'r4', 'r5', 'r5b']);
  // A millisecond inside each edge leaves the edge events out.
  expect(await names({ since: T0 + 2 * HOUR + 1, until: T0 + 5 * HOUR - 1 })).toEqual(['r3', 'r4']);
  // An instant: since = until.
  expect(await names({ since: T0 + 5 * HOUR, until: T0 + 5 * HOUR })).toEqual(['r5', 'r5b']);
  // Open at either end.
  expect(await names({ until: T0 + HOUR })).toEqual(['r0', 'r1']);
  expect(await names({ since: T0 + 22 * HOUR })).toEqual(['r22', 'r23']);
  // Nothing before the first event, nothing after the last.
  expect(await names({ until: T0 - 1 })).toEqual([]);
  expect(await names({ since: T0 + 23 * HOUR + 1 })).toEqual([]);
  // The limit keeps the newest in the window, not the newest overall; other filters apply within it.
  expect(await names({ until: T0 + 10 * HOUR, limit: 2 })).toEqual(['r9', 'r10']);
  expect(await names({ since: T0, until: T0 + 10 * HOUR, verdict: 'deny' })).toEqual(['r7']);
  expect((await read({ since: T0 + 3 * HOUR, until: T0 + 3 * HOUR }))[0]).toMatchObject({ at: T0 + 3 * HOUR, time: '2025-01-28T03:00:00.000Z' });
}
