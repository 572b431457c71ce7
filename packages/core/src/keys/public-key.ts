import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { algorithmOfKeyObject } from './algorithm.js';
import { encodePem } from './pem.js';
import type { PrivateSigningKey, PublicVerificationKey } from './types.js';

/** The verification form of a public KeyObject (its algorithm must be supported: UNSUPPORTED_KEY otherwise). */
export function publicVerificationKey(key: KeyObject | PrivateSigningKey, what = 'the public key'): PublicVerificationKey {
  const publicKey = 'privateKey' in key ? key.publicKey : key.type === 'private' ? createPublicKey(key) : key;
  const algorithm = algorithmOfKeyObject(publicKey, what);
  const spkiDer = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  return {
    algorithm,
    key: publicKey,
    spkiDer,
    pem: encodePem('PUBLIC KEY', spkiDer),
    keyId: createHash('sha256').update(spkiDer).digest('hex'),
  };
}

/** The `PUBLIC KEY` (SPKI) PEM of a key pair, byte for byte what cosign writes to `cosign.pub`. */
export function publicKeyPem(key: PrivateSigningKey): string {
  return publicVerificationKey(key).pem;
}
