import { TollgateError } from '@tollgate/core';

/** Small strict readers for config values: every error names the key path and what to write instead. */

export function configError(path: string, problem: string): TollgateError {
  return new TollgateError('INVALID_CONFIG', `proxy config: ${path === '' ? 'the document' : path} ${problem}`);
}

export function asRecord(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(path, 'must be a mapping (key: value)');
  return value as Record<string, unknown>;
}

/** Refuses keys outside `allowed` (fail closed: a misspelt security setting must not be silently ignored). */
export function checkKeys(record: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      throw configError(where, `is not a known setting; allowed here: ${allowed.join(', ')}`);
    }
  }
}

export function optionalString(value: unknown, path: string, max = 4096): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > max) throw configError(path, `must be a non-empty string of at most ${max} characters`);
  return value;
}

export function requiredString(value: unknown, path: string, max = 4096): string {
  const out = optionalString(value, path, max);
  if (out === undefined) throw configError(path, 'is required');
  return out;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw configError(path, 'must be true or false');
  return value;
}

export function integerIn(value: unknown, path: string, min: number, max: number): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw configError(path, `must be an integer from ${min} to ${max}`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** A byte size: an integer, or a string like `512MiB`, `10GB`. */
export function byteSize(value: unknown, path: string): number {
  if (typeof value === 'number') return integerIn(value, path, 1, Number.MAX_SAFE_INTEGER);
  const match = typeof value === 'string' ? /^\s*(\d{1,15}(?:\.\d{1,6})?)\s*([a-zA-Z]{0,3})\s*$/.exec(value) : null;
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw configError(path, 'must be a byte size such as 1073741824, "512MiB" or "10GB"');
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw configError(path, 'must be a positive byte size');
  return bytes;
}
