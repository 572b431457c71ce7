import { digestOf, parseDigest, parseManifest, TollgateError } from '@tollgate/core';
import type { UpstreamManifest } from './types.js';

/**
 * Checks manifest bytes an upstream sent: strictly parsed (4 MiB bound, no duplicate keys, media type agreeing with
 * the declared one) and digested; the digest must equal the one that named or described it.
 */
export function checkedManifest(bytes: Uint8Array, declaredMediaType: string | undefined, expectedDigest: string | undefined, what: string): UpstreamManifest {
  const algorithm = expectedDigest !== undefined ? parseDigest(expectedDigest).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (expectedDigest !== undefined && digest !== expectedDigest) {
    throw new TollgateError('DIGEST_MISMATCH', `${what}: the bytes digest to ${digest}, not ${expectedDigest}; the upstream altered the manifest`);
  }
  const parsed = parseManifest(bytes, declaredMediaType, what);
  return { bytes, mediaType: parsed.mediaType, digest };
}
