import { TollgateError } from '@tollgate/core';

/**
 * cosign's `--timeout` as a duration: `30s`, `2m`, `1m30s`, `500ms`, or a plain number of seconds. Returns ms.
 */
export function parseTimeout(value: string, flag = '--timeout'): number {
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
      throw new TollgateError('USAGE', `${flag} must be a duration such as 30s, 2m or 1m30s, not ${JSON.stringify(value.slice(0, 40))}`);
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
  }
  if (!Number.isFinite(ms) || ms < 1 || ms > 24 * 3_600_000) throw new TollgateError('USAGE', `${flag} must be more than 0 and at most 24h`);
  return Math.round(ms);
}
