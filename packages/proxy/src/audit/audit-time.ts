import { TollgateError } from '@tollgate/core';

/**
 * The times of an audit query (`--since`, `--until`, the dashboard's since/until): a duration back from now
 * (`90s`, `15m`, `2h`, `7d`, `2w`, `1h30m`) or an RFC 3339 time (a date alone is midnight UTC). Both bounds are
 * inclusive. Anything else is a USAGE error in one line that says what to write: a typo should not turn into a
 * query that silently matches nothing.
 */

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION = /^(\d+[smhdw])+$/;
const TIME = /^(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d\d):(\d\d)))?$/;
/** Longer text is no time anyone meant (and is not echoed whole). */
const MAX_TEXT = 64;
/**
 * A time this far ahead of now is a typo (2205 for 2025), not a query: no event is recorded after now. A little
 * ahead is fine (a clock or a time zone off by hours).
 */
export const MAX_FUTURE_MS = 86_400_000;
const FORMS = 'a duration back from now (30m, 2h, 7d) or an RFC 3339 time (2025-01-31T12:00:00Z)';

/** `subject` names the input in the error, e.g. `--since "2h"` or `the since filter`. Returns ms since the epoch. */
export function parseAuditTime(value: string, subject: string, now = Date.now()): number {
  const text = value.trim();
  const fail = (why: string) => new TollgateError('USAGE', `${subject} ${why}`);
  if (text === '') throw fail(`is empty: give ${FORMS}`);
  if (text.length > MAX_TEXT) throw fail(`is longer than ${MAX_TEXT} characters: give ${FORMS}`);
  if (/^-\s*\d/.test(text)) throw fail('is negative: a duration counts back from now (30m is 30 minutes ago)');
  if (DURATION.test(text)) {
    let ms = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNITS[unit!]!;
    // Huge numbers end here too (Number of many digits is huge or Infinity): no event is older than 1970.
    if (!(ms <= now)) throw fail('reaches back before 1970: give a shorter duration');
    return now - ms;
  }
  const parts = TIME.exec(text);
  if (parts === null) throw fail('is neither a duration back from now (30m, 2h, 7d) nor an RFC 3339 time (2025-01-31T12:00:00Z)');
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone, sign, oh = '0', om = '0'] = parts;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Date.UTC maps years 0–99 to 1900–1999 and Date.parse rolls 2025-02-30 over: check the fields ourselves. (1969
  // is read on: 1969-12-31T23:30:00-01:00 is in 1970.)
  if (year < 1969) throw fail('is before 1970: no audit event is that old');
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (day < 1 || day > daysInMonth || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59 || Number(oh) > 23 || Number(om) > 59) {
    throw fail('is not a real date and time (month 01–12, a day of that month, 00–23 h, 00–59 min and s, offset up to ±23:59)');
  }
  const offset = zone === undefined || sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const at = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3))) - offset;
  if (at < 0) throw fail('is before 1970: no audit event is that old');
  if (at > now + MAX_FUTURE_MS) throw fail('is more than a day in the future: no audit event is recorded after now');
  return at;
}

/** The flag and its value, quoted and clipped (JSON keeps the message on one line). */
function flag(name: string, value: string): string {
  return `${name} ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
}

/** `--since`: only events at or after this time. */
export function parseSince(value: string, now = Date.now()): number {
  return parseAuditTime(value, flag('--since', value), now);
}

/** `--until`: only events at or before this time (a duration means that long ago, like `--since`). */
export function parseUntil(value: string, now = Date.now()): number {
  return parseAuditTime(value, flag('--until', value), now);
}

/** A window whose start is after its end matches nothing: a USAGE error rather than an empty answer. */
export function checkAuditWindow(since: number | undefined, until: number | undefined, names: { since: string; until: string } = { since: '--since', until: '--until' }): void {
  if (since === undefined || until === undefined || since <= until) return;
  throw new TollgateError('USAGE', `${names.since} (${new Date(since).toISOString()}) is later than ${names.until} (${new Date(until).toISOString()}): the window is empty; swap them`);
}
