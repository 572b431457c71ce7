import { generateKeyPairSync } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';
import { SUPPORTED_KEY_ALGORITHMS } from './algorithm.js';
import type { KeyAlgorithm, PrivateSigningKey } from './types.js';

/** A fresh key pair; ECDSA P-256 by default, as `cosign generate-key-pair`. */
export function generateKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): PrivateSigningKey {
  switch (algorithm) {
    case 'ecdsa-p256':
    case 'ecdsa-p384': {
      const pair = generateKeyPairSync('ec', { namedCurve: algorithm === 'ecdsa-p256' ? 'P-256' : 'P-384' });
      return { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
    }
    case 'ed25519': {
      const pair = generateKeyPairSync('ed25519');
      return { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
    }
    default:
      throw new TollgateError('USAGE', `unknown key algorithm ${JSON.stringify(algorithm)}; choose one of ${SUPPORTED_KEY_ALGORITHMS.join(', ')}`);
  }
}
