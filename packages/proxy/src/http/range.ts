import { OciError } from './oci-error.js';

/**
 * Parses a single `Range: bytes=…` request against a blob of `size` bytes. Returns undefined when there is no
 * usable Range (absent, several ranges, another unit: the whole blob is served, as RFC 9110 allows) and throws
 * 416 when the range cannot be satisfied.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return undefined;
  }
  if (start >= size || size === 0) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): OciError {
  const error = new OciError(416, 'SIZE_INVALID', `requested range not satisfiable; the blob is ${size} bytes`);
  (error as OciError & { contentRange?: string }).contentRange = `bytes */${size}`;
  return error;
}
