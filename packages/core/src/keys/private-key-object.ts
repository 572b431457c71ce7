import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';
import { algorithmOfKeyObject, hashFor } from './algorithm.js';
import type { PrivateSigningKey } from './types.js';

const PAIRWISE_MESSAGE = Buffer.from('tollgate key pairwise consistency check');

/**
 * A private KeyObject as a PrivateSigningKey: the algorithm must be supported, and a test signature must verify
 * with the public half, so a file whose embedded public key does not belong to its private key is refused here
 * rather than producing signatures nobody can verify.
 */
export function signingKeyFromKeyObject(privateKey: KeyObject, what: string): PrivateSigningKey {
  if (privateKey.type !== 'private') throw new TollgateError('INVALID_KEY', `${what} is not a private key`);
  const algorithm = algorithmOfKeyObject(privateKey, what);
  let publicKey: KeyObject;
  let consistent = false;
  try {
    publicKey = createPublicKey(privateKey);
    const hash = hashFor(algorithm);
    const signature = sign(hash, PAIRWISE_MESSAGE, privateKey);
    consistent = verify(hash, PAIRWISE_MESSAGE, publicKey, signature);
  } catch (error) {
    throw new TollgateError('INVALID_KEY', `${what} cannot sign (${(error as Error).message}); the key is corrupt`, { cause: error });
  }
  if (!consistent) throw new TollgateError('INVALID_KEY', `${what}: its public key does not match its private key; the key is corrupt or tampered with`);
  return { algorithm, privateKey, publicKey };
}

/**
 * Parses a PKCS#8 DER private key. `cosign` is set for keys that came out of a cosign envelope, where cosign
 * accepts PKCS#8 only: a SEC1 key there gets its own message, as cosign refuses it too.
 */
export function privateKeyFromPkcs8(der: Uint8Array, what: string, cosign: boolean): PrivateSigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (error) {
    if (isSec1(der)) {
      throw new TollgateError(
        'INVALID_KEY',
        cosign
          ? `${what} decrypts, but holds a SEC1 "EC PRIVATE KEY", not PKCS#8 as cosign requires (cosign refuses it too); convert it with \`openssl pkcs8 -topk8 -nocrypt\` and re-encrypt it with \`cosign import-key-pair\``
          : `${what} holds a SEC1 "EC PRIVATE KEY" under a PKCS#8 label; fix the label or convert it with \`openssl pkcs8 -topk8 -nocrypt\``,
      );
    }
    throw new TollgateError('INVALID_KEY', `${what} is not a valid PKCS#8 private key${cosign ? ' (after decryption)' : ''}; the key is corrupt`, { cause: error });
  }
  return signingKeyFromKeyObject(key, what);
}

/** Parses a SEC1 (`EC PRIVATE KEY`) DER private key. */
export function privateKeyFromSec1(der: Uint8Array, what: string): PrivateSigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'sec1' });
  } catch (error) {
    throw new TollgateError('INVALID_KEY', `${what} is not a valid SEC1 EC private key; the key is corrupt`, { cause: error });
  }
  return signingKeyFromKeyObject(key, what);
}

function isSec1(der: Uint8Array): boolean {
  try {
    createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'sec1' });
    return true;
  } catch {
    return false;
  }
}
