/**
 * The times of an audit query (`--since`, `--until`, the dashboard's since/until): durations back from now and
 * RFC 3339 times are read exactly; anything else, a time before 1970 or more than a day ahead, a negative or huge
 * duration is a one-line USAGE error naming the flag.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { checkAuditWindow, MAX_FUTURE_MS, parseAuditTime, parseSince, parseUntil } from '../src/audit/audit-time.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

function usage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as TollgateError).code).toBe('USAGE');
    return (error as Error).message;
  }
  throw new Error('expected a USAGE error');
}

describe('parseAuditTime', () => {
  it('reads durations as that long ago and RFC 3339 times (with offsets, fractions, a date alone as midnight UTC)', () => {
    expect(parseUntil('90s', NOW)).toBe(NOW - 90_000);
    expect(parseUntil('1h30m', NOW)).toBe(NOW - 5_400_000);
    expect(parseUntil('2w', NOW)).toBe(NOW - 14 * 86_400_000);
    expect(parseUntil('0s', NOW)).toBe(NOW);
    expect(parseUntil(' 2025-01-31T12:00:00Z ', NOW)).toBe(Date.parse('2025-01-31T12:00:00Z'));
    expect(parseUntil('2025-01-31t12:00:00.5+02:00', NOW)).toBe(Date.parse('2025-01-31T10:00:00.500Z'));
    expect(parseUntil('2025-01-31 12:00-05:30', NOW)).toBe(Date.parse('2025-01-31T17:30:00Z'));
    expect(parseUntil('2024-02-29', NOW)).toBe(Date.parse('2024-02-29T00:00:00Z'));
    expect(parseUntil('2025-01-31T12:00:00.123456789Z', NOW)).toBe(Date.parse('2025-01-31T12:00:00.123Z'));
    expect(parseSince('1970-01-01T00:00:00Z', NOW)).toBe(0);
  });

  it('refuses garbage, impossible dates, negative and huge durations, before 1970 and far future, naming the flag', () => {
    const cases: [string, RegExp][] = [
      ['', /^--until "" is empty: give a duration/],
      ['yesterday', /^--until "yesterday" is neither a duration back from now \(30m, 2h, 7d\) nor an RFC 3339 time/],
      ['5', /is neither/],
      ['1y', /is neither/],
      ['2025-01-31T12:00:00', /is neither/], // a time without an offset is ambiguous
      ['-5m', /^--until "-5m" is negative: a duration counts back from now/],
      ['- 5m', /is negative/],
      ['2025-02-29', /is not a real date and time/],
      ['2025-13-01', /is not a real date and time/],
      ['2025-04-31T00:00:00Z', /is not a real date and time/],
      ['2025-01-31T24:00:00Z', /is not a real date and time/],
      ['2025-01-31T12:60:00Z', /is not a real date and time/],
      ['2025-01-31T12:00:60Z', /is not a real date and time/],
      ['2025-01-31T12:00:00+24:00', /is not a real date and time/],
      ['1969-12-31T23:59:59Z', /is before 1970/],
      ['0070-01-01', /is before 1970/], // Date.UTC would read year 70 as 1970
      ['1970-01-01T00:30:00+01:00', /is before 1970/],
      ['99999d', /reaches back before 1970/],
      ['9'.repeat(60) + 'w', /reaches back before 1970/],
      ['2999-01-01T00:00:00Z', /is more than a day in the future/],
      ['x'.repeat(65), /is longer than 64 characters/],
    ];
    for (const [text, message] of cases) expect(usage(() => parseUntil(text, NOW)), text).toMatch(message);
    expect(usage(() => parseSince('now', NOW))).toMatch(/^--since "now" is neither/);
    // A day ahead is tolerated (clocks, time zones), not more.
    expect(parseUntil(new Date(NOW + MAX_FUTURE_MS).toISOString(), NOW)).toBe(NOW + MAX_FUTURE_MS);
    expect(usage(() => parseUntil(new Date(NOW + MAX_FUTURE_MS + 1).toISOString(), NOW))).toMatch(/future/);
    // The echoed text is clipped and JSON-quoted: the message stays one line.
    expect(usage(() => parseSince('2h\nrm -rf /', NOW))).toBe('--since "2h\\nrm -rf /" is neither a duration back from now (30m, 2h, 7d) nor an RFC 3339 time (2025-01-31T12:00:00Z)');
  });

  it('property: any text is a time within [1970, now + 1 day] or a one-line USAGE error naming the subject', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^-?\d{1,25}[smhdwy]?(\d{1,3}[smhdw])?$/),
      fc.stringMatching(/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,12})?)?(Z|[+-]\d\d:\d\d)?)?$/),
    );
    fc.assert(
      fc.property(text, (value) => {
        let at: number;
        try {
          at = parseAuditTime(value, 'the until filter', NOW);
        } catch (error) {
          expect(error).toBeInstanceOf(TollgateError);
          expect((error as TollgateError).code).toBe('USAGE');
          expect((error as Error).message).toMatch(/^the until filter [^\n]+$/);
          return;
        }
        expect(Number.isSafeInteger(at)).toBe(true);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(at).toBeLessThanOrEqual(NOW + MAX_FUTURE_MS);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a duration is exactly the sum of its parts ago', () => {
    const part = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[])));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, unit]) => `${n}${unit}`).join('');
        const ms = parts.reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit], 0);
        expect(parseSince(text, NOW)).toBe(NOW - ms);
      }),
    );
  });

  it('property: an instant written as RFC 3339 in any offset reads back as that instant (ms precision)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: NOW + MAX_FUTURE_MS }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (at, offsetMinutes) => {
        const local = new Date(at + offsetMinutes * 60_000).toISOString().slice(0, -1); // the wall clock at that offset
        const abs = Math.abs(offsetMinutes);
        const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseUntil(`${local}${zone}`, NOW)).toBe(at);
        expect(parseUntil(new Date(at).toISOString(), NOW)).toBe(at);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checkAuditWindow', () => {
  it('accepts open, equal and ordered bounds; a since after the until is a USAGE error naming both', () => {
    expect(() => checkAuditWindow(undefined, 5)).not.toThrow();
    expect(() => checkAuditWindow(5, undefined)).not.toThrow();
    expect(() => checkAuditWindow(5, 5)).not.toThrow();
    expect(usage(() => checkAuditWindow(86_400_000, 0))).toBe('--since (1970-01-02T00:00:00.000Z) is later than --until (1970-01-01T00:00:00.000Z): the window is empty; swap them');
    expect(usage(() => checkAuditWindow(2, 1, { since: 'the since filter', until: 'the until filter' }))).toMatch(/^the since filter \(.*\) is later than the until filter/);
  });
});
