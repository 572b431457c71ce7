import type { CelInput } from '@bufbuild/cel';

/** Values deeper than this are cut off (as null) when handed to CEL: statements are JSON, and JSON this deep is hostile. */
const MAX_DEPTH = 64;

/**
 * Turns parsed JSON into CEL input: objects become Maps (CEL's map type), arrays lists; numbers stay doubles
 * (CEL compares int and double values numerically, so `x == 0` works on JSON numbers).
 */
export function toCel(value: unknown, depth = 0): CelInput {
  if (depth > MAX_DEPTH) return null;
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => toCel(v, depth + 1));
  if (typeof value === 'object') {
    if (value instanceof Uint8Array) return value;
    const map = new Map<string, CelInput>();
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) map.set(key, toCel(v, depth + 1));
    return map;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return null;
}
