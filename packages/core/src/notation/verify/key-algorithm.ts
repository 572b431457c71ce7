import type { X509Certificate } from 'node:crypto';
import type { NotationAlgorithm } from '../envelope/protected-header.js';

/**
 * The signature algorithm the signing certificate's key dictates (signature-specification.md, Algorithm
 * Selection): RSA 2048/3072/4096 → PS256/384/512, EC P-256/384/521 → ES256/384/512. Undefined for other keys.
 */
export function algorithmForKey(cert: X509Certificate): NotationAlgorithm | undefined {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as const)[details.modulusLength as 2048 | 3072 | 4096];
  }
  if (key.asymmetricKeyType === 'ec') {
    return ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as const)[details.namedCurve as 'prime256v1' | 'secp384r1' | 'secp521r1'];
  }
  return undefined;
}
