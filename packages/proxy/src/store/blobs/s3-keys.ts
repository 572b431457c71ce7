import { isDigest, parseDigest } from '@tollgate/core';

/**
 * Object keys of the S3 blob store: `<prefix>/blobs/<alg>/<hex>`, content-addressed, so every replica names a blob
 * the same way and a key that does not parse back to a digest is not ours.
 */

const SEGMENT = /^[A-Za-z0-9!_.*'()-]+$/;

/**
 * The prefix without leading or trailing slashes; undefined when it is not a safe one (`..` or `.` segments, empty
 * segments, characters outside S3's "safe" set), because a prefix must never reach keys outside its own tree.
 */
export function normaliseS3Prefix(raw: string): string | undefined {
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  if (trimmed.length > 512) return undefined;
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (segment === '.' || segment === '..' || !SEGMENT.test(segment)) return undefined;
  }
  return trimmed;
}

/** Where every blob key of a store begins: `<prefix>/blobs/` or `blobs/`. */
export function blobsKeyPrefix(prefix: string): string {
  return prefix === '' ? 'blobs/' : `${prefix}/blobs/`;
}

export function blobKey(prefix: string, digest: string): string {
  const parsed = parseDigest(digest);
  return `${blobsKeyPrefix(prefix)}${parsed.algorithm}/${parsed.hex}`;
}

/** The digest a key names, or undefined for anything else found under the prefix (junk, other tools' objects). */
export function digestOfKey(prefix: string, key: string): string | undefined {
  const start = blobsKeyPrefix(prefix);
  if (!key.startsWith(start)) return undefined;
  const rest = key.slice(start.length).split('/');
  if (rest.length !== 2) return undefined;
  const digest = `${rest[0]}:${rest[1]}`;
  return isDigest(digest) ? digest : undefined;
}
