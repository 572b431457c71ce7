import { sign, verify } from 'node:crypto';
import { hashFor } from './algorithm.js';
import type { PrivateSigningKey, PublicVerificationKey } from './types.js';

/** Longest DER ECDSA signature over P-384 (two 49-byte INTEGERs plus headers); anything longer is not one. */
const MAX_ECDSA_SIGNATURE_BYTES = 2 * (2 + 49) + 3;
const ED25519_SIGNATURE_BYTES = 64;

/**
 * Signs `data` as cosign does: ECDSA over SHA-256 (P-256) or SHA-384 (P-384), ASN.1 DER signature; Ed25519 over
 * the message itself (pure Ed25519, as Sigstore's PKIX_ED25519; cosign's hashedrekord path uses Ed25519ph instead).
 */
export function signMessage(key: PrivateSigningKey, data: Uint8Array): Uint8Array {
  const signature = sign(hashFor(key.algorithm), data, { key: key.privateKey, dsaEncoding: 'der' });
  return new Uint8Array(signature);
}

/** true when `signature` is a valid signature of `data` by `key`; false for anything else, garbage included (never throws on the signature). */
export function verifyMessage(key: PublicVerificationKey | PrivateSigningKey, data: Uint8Array, signature: Uint8Array): boolean {
  const algorithm = key.algorithm;
  const publicKey = 'privateKey' in key ? key.publicKey : key.key;
  if (!(signature instanceof Uint8Array) || signature.byteLength === 0) return false;
  if (algorithm === 'ed25519' ? signature.byteLength !== ED25519_SIGNATURE_BYTES : signature.byteLength > MAX_ECDSA_SIGNATURE_BYTES) return false;
  try {
    return verify(hashFor(algorithm), data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
