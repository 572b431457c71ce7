import { TollgateError } from '../../errors/tollgate-error.js';
import { DEFAULT_MAX_SIGNATURE_BLOB_BYTES, DEFAULT_MAX_SIGNATURES } from '../constants.js';
import type { SignatureLimits } from '../types.js';

export interface ResolvedLimits {
  maxSignatures: number;
  maxBlobBytes: number;
}

const MAX_SIGNATURES_CEILING = 10_000;
const MAX_BLOB_CEILING = 64 * 1024 * 1024;

export function resolveLimits(limits: SignatureLimits = {}): ResolvedLimits {
  const maxSignatures = limits.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  const maxBlobBytes = limits.maxBlobBytes ?? DEFAULT_MAX_SIGNATURE_BLOB_BYTES;
  if (!Number.isInteger(maxSignatures) || maxSignatures < 1 || maxSignatures > MAX_SIGNATURES_CEILING) {
    throw new TollgateError('USAGE', `the signature limit must be an integer from 1 to ${MAX_SIGNATURES_CEILING}, got ${maxSignatures}`);
  }
  if (!Number.isInteger(maxBlobBytes) || maxBlobBytes < 1 || maxBlobBytes > MAX_BLOB_CEILING) {
    throw new TollgateError('USAGE', `the signature blob size limit must be an integer from 1 to ${MAX_BLOB_CEILING} bytes, got ${maxBlobBytes}`);
  }
  return { maxSignatures, maxBlobBytes };
}
