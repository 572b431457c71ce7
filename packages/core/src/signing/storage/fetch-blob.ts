import { verifyBytes } from '../../digest/digest.js';
import { isUnavailableError } from '../../errors/tollgate-error.js';
import { readBounded } from '../../image/read-bounded.js';
import type { Descriptor } from '../../image/types.js';
import type { SignatureReader } from './fetch-signatures.js';

/**
 * Reads one signature or attestation blob: refused unread when its descriptor declares more than `maxBytes`,
 * never read past the declared size (the client cuts a longer body), and checked against its digest.
 * Returns the bytes, or why they were refused.
 */
export async function fetchSignatureBlob(client: SignatureReader, repository: string, descriptor: Descriptor, maxBytes: number): Promise<{ bytes?: Uint8Array; error?: string; unavailable?: true }> {
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) return { error: `blob ${descriptor.digest} declares an invalid size` };
  if (descriptor.size > maxBytes) {
    return { error: `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than the ${maxBytes}-byte limit for a signature; refused unread` };
  }
  try {
    const stream = await client.getBlob(repository, descriptor.digest, { expectedSize: descriptor.size });
    const bytes = await readBounded(stream, Math.min(descriptor.size, maxBytes), `blob ${descriptor.digest}`);
    verifyBytes(bytes, descriptor.digest, `blob ${descriptor.digest}`);
    return { bytes };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error), ...(isUnavailableError(error) ? { unavailable: true as const } : {}) };
  }
}
