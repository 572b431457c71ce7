import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The id a signer's public key is known by: sha256 (lowercase hex) of its SubjectPublicKeyInfo DER in one canonical
 * encoding. For a key written the usual way it is cosign's key id (sha256 of the SPKI); an EC key written with a
 * compressed point (a different SPKI for the same key) is re-encoded uncompressed first, so one key has one id
 * however it was written — what lets the policy engine count a key listed twice, or a certificate's key, once.
 */
export function publicKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  let canonical = publicKey;
  if (publicKey.asymmetricKeyType === 'ec') {
    try {
      canonical = createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' });
    } catch {
      // Not expressible as a JWK (explicit curve parameters): its SPKI as written is the best id there is.
    }
  }
  return createHash('sha256').update(canonical.export({ type: 'spki', format: 'der' })).digest('hex');
}
