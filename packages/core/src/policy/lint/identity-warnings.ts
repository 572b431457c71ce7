import type { KeylessSpec } from '../schema/types.js';

/**
 * Warnings for keyless identity patterns that look like they were written for a substring search or with
 * unescaped dots. tollgate always matches the whole value (`^(?:…)$`), so these are not bypasses here, but they
 * usually accept more than the author meant (`.*` at an end, `.` matching any character in a host name).
 */
export function identityWarnings(keyless: KeylessSpec): Array<{ field: string; message: string }> {
  const out: Array<{ field: string; message: string }> = [];
  for (const field of ['subjectRegexp', 'issuerRegexp'] as const) {
    const pattern = keyless[field];
    if (pattern === undefined) continue;
    const inner = pattern.replace(/^\^/, '').replace(/\$$/, '');
    if (inner.startsWith('.*') || inner.startsWith('.+')) {
      out.push({ field, message: `${JSON.stringify(pattern.slice(0, 80))} starts with "${inner.slice(0, 2)}", so any prefix is accepted (it looks written for an unanchored search); tollgate anchors it as ^(?:…)$ — name the prefix you trust` });
    }
    if (inner.endsWith('.*') || inner.endsWith('.+')) {
      out.push({ field, message: `${JSON.stringify(pattern.slice(0, 80))} ends with "${inner.slice(-2)}", so any suffix is accepted (it looks written for an unanchored search); tollgate anchors it as ^(?:…)$ — name the suffix you trust` });
    }
    if (/(?<!\\)\.(?=[a-z]{2,}(?:[/:@]|\\|$|\)))/i.test(inner)) {
      out.push({ field, message: `${JSON.stringify(pattern.slice(0, 80))} has an unescaped "." before what looks like a domain; "." matches any character, so escape it as "\\."` });
    }
  }
  for (const field of ['subject', 'issuer'] as const) {
    const exact = keyless[field];
    if (exact !== undefined && /(\.\*|\.\+|\^|\$|\\\.)/.test(exact)) {
      out.push({ field, message: `${JSON.stringify(exact.slice(0, 80))} looks like a regular expression but is matched exactly; use ${field}Regexp if a pattern was meant` });
    }
  }
  return out;
}
