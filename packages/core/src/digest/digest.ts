import { createHash, type Hash } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';

/** Digest algorithms tollgate can verify. A digest naming any other algorithm cannot be checked, so it is refused. */
export type DigestAlgorithm = 'sha256' | 'sha512';

const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const HEX = /^[a-f0-9]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The digest as `algorithm:hex`. */
  value: string;
}

/**
 * Parses an OCI digest strictly: a registered algorithm (sha256, sha512) and lowercase hex of exactly the right
 * length. Anything else (upper-case hex, `sha256:../x`, wrong length) is refused, because a digest also becomes a
 * path component in layouts and caches.
 */
export function parseDigest(input: string, what = 'digest'): ParsedDigest {
  if (typeof input !== 'string') {
    throw new TollgateError('INVALID_DIGEST', `${what} is not a string; expected "sha256:" followed by 64 lowercase hex characters`);
  }
  const colon = input.indexOf(':');
  const shown = JSON.stringify(input.length > 150 ? `${input.slice(0, 150)}…` : input);
  if (colon <= 0) {
    throw new TollgateError('INVALID_DIGEST', `invalid ${what} ${shown}: expected "algorithm:hex", e.g. "sha256:" followed by 64 lowercase hex characters`);
  }
  const algorithm = input.slice(0, colon);
  const hex = input.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new TollgateError('INVALID_DIGEST', `invalid ${what} ${shown}: unsupported algorithm "${algorithm.slice(0, 20)}"; use sha256 or sha512`);
  }
  const expected = ENCODED_LENGTH[algorithm];
  if (!HEX.test(hex)) {
    throw new TollgateError('INVALID_DIGEST', `invalid ${what} ${shown}: the encoded part must be lowercase hex [a-f0-9]`);
  }
  if (hex.length !== expected) {
    throw new TollgateError('INVALID_DIGEST', `invalid ${what} ${shown}: ${algorithm} needs ${expected} hex characters, got ${hex.length}`);
  }
  return { algorithm, hex, value: input };
}

export function isDigest(input: unknown): input is string {
  if (typeof input !== 'string') return false;
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

export function createDigestHash(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** The digest of bytes held in memory (manifests, configs): never of re-serialised JSON. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Checks bytes against an expected digest; throws DIGEST_MISMATCH naming what was expected and found. */
export function verifyBytes(bytes: Uint8Array, expected: string, what: string): void {
  const parsed = parseDigest(expected, `${what} digest`);
  const actual = digestOf(bytes, parsed.algorithm);
  if (actual !== parsed.value) {
    throw new TollgateError('DIGEST_MISMATCH', `${what}: digest mismatch, expected ${parsed.value}, got ${actual}; the content was altered or corrupted`);
  }
}
