import type { KeyObject } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';
import type { KeyAlgorithm, KeyDetails } from './types.js';

export const SUPPORTED_KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519'];
const SUPPORTED_TEXT = 'ECDSA P-256, ECDSA P-384 and Ed25519';

/** The algorithm of a parsed key, or UNSUPPORTED_KEY naming what it is and what is supported. */
export function algorithmOfKeyObject(key: KeyObject, what: string): KeyAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256';
    if (curve === 'secp384r1') return 'ecdsa-p384';
    throw unsupported(what, `an EC key on curve ${curve ?? '(explicit parameters)'}`);
  }
  throw unsupported(what, `a${type === 'rsa' || type === 'rsa-pss' || type === 'ed448' ? 'n' : ''} ${(type ?? 'unknown').toUpperCase()} key`);
}

export function unsupported(what: string, found: string): TollgateError {
  return new TollgateError('UNSUPPORTED_KEY', `${what} is ${found}; tollgate supports ${SUPPORTED_TEXT} keys: generate one with \`tollgate generate-key-pair\``);
}

/** Sigstore's `PublicKeyDetails` name for a key's algorithm, for trust material and bundles. */
export function keyDetails(key: { algorithm: KeyAlgorithm } | KeyAlgorithm): KeyDetails {
  const algorithm = typeof key === 'string' ? key : key.algorithm;
  switch (algorithm) {
    case 'ecdsa-p256':
      return 'PKIX_ECDSA_P256_SHA_256';
    case 'ecdsa-p384':
      return 'PKIX_ECDSA_P384_SHA_384';
    case 'ed25519':
      return 'PKIX_ED25519';
    default:
      throw new TollgateError('UNSUPPORTED_KEY', `unknown key algorithm ${JSON.stringify(algorithm)}; tollgate supports ${SUPPORTED_TEXT}`);
  }
}

/** The digest ECDSA signs over (cosign's choice per curve); null for Ed25519, which signs the message itself. */
export function hashFor(algorithm: KeyAlgorithm): 'sha256' | 'sha384' | null {
  return algorithm === 'ecdsa-p256' ? 'sha256' : algorithm === 'ecdsa-p384' ? 'sha384' : null;
}
