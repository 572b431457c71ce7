/**
 * `--since`/`--until` windows over the level store (a key range: keys are time-ordered) and the audit.file (a
 * filter), and the dashboard's since/until filter, which uses the same times and scans only its window.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { queryAuditFile, queryAuditStore } from '../src/audit/query.js';
import { LevelMetadataStore } from '../src/store/level-metadata-store.js';
import { parseDecisionFilter } from '../src/ui/decision-filter.js';
import { readDecisions } from '../src/ui/decision-reader.js';
import type { ProxyCore } from '../src/serve/proxy-core.js';
import { expectWindows, HOUR, PLAN, planEvent, recordPlan, T0 } from './audit-window-cases.js';

let work: string;
let level: LevelMetadataStore;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-audit-window-'));
  level = await LevelMetadataStore.open(join(work, 'meta'));
  await recordPlan(level);
});

afterAll(async () => {
  await level?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('level store', () => {
  it('cuts windows with both bounds inclusive', async () => {
    await expectWindows((query) => queryAuditStore(level, query));
  });

  it('scans the window newest first, and nothing for an empty or negative one', async () => {
    const scanned = [];
    for await (const event of level.scanAudit({ since: T0 + 20 * HOUR, until: T0 + 21 * HOUR })) scanned.push(event.repository);
    expect(scanned).toEqual(['r21', 'r20']);
    expect(await level.listAudit(10, { since: T0 + 2 * HOUR, until: T0 + HOUR })).toEqual([]);
    expect(await level.listAudit(10, { until: -1 })).toEqual([]);
    expect((await level.listAudit(2, { until: T0 + 5 * HOUR + 0.5 })).map((e) => e.repository)).toEqual(['r5b', 'r5']);
  });
});

describe('audit.file', () => {
  it('cuts the same windows (a filter over the lines, skipping a torn one)', async () => {
    const file = join(work, 'audit.jsonl');
    await writeFile(file, `${PLAN.map((p) => JSON.stringify(planEvent(p))).join('\n')}\n{"type":"verdict","at":`);
    await expectWindows((query) => queryAuditFile(file, query));
  });
});

describe('dashboard', () => {
  const core = () => ({ meta: level }) as unknown as ProxyCore;

  it('shows only the decisions in its since/until window, inclusive', async () => {
    const now = T0 + 24 * HOUR;
    const filter = parseDecisionFilter({ since: '2025-01-28T02:00:00Z', until: '2025-01-28T04:00:00Z' }, now);
    const page = await readDecisions(core(), () => true, filter);
    expect(page.decisions.map((d) => d.repository)).toEqual(['r4', 'r3', 'r2']);
    expect(page.truncated).toBe(false);
    // Durations mean that long ago, as on the command line.
    const ago = await readDecisions(core(), () => true, parseDecisionFilter({ since: '3h', until: '2h' }, now));
    expect(ago.decisions.map((d) => d.repository)).toEqual(['r22', 'r21']);
  });

  it('refuses a since after the until, and unreadable times, as USAGE errors naming the filter', () => {
    const refuse = (query: Record<string, string>) => {
      try {
        parseDecisionFilter(query, T0);
      } catch (error) {
        expect(error).toBeInstanceOf(TollgateError);
        expect((error as TollgateError).code).toBe('USAGE');
        return (error as Error).message;
      }
      throw new Error('expected a USAGE error');
    };
    expect(refuse({ since: '1h', until: '2h' })).toMatch(/^the since filter \(.*\) is later than the until filter \(.*\): the window is empty; swap them$/);
    expect(refuse({ until: 'yesterday' })).toMatch(/^the until filter is neither a duration/);
    expect(refuse({ until: '2999-01-01T00:00:00Z' })).toMatch(/^the until filter is more than a day in the future/);
  });
});
