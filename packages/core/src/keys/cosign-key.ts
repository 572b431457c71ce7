import { TollgateError } from '../errors/tollgate-error.js';
import { algorithmOfKeyObject } from './algorithm.js';
import { DEFAULT_COSIGN_SCRYPT_N, sealCosignEnvelope } from './cosign-envelope.js';
import { encodePem } from './pem.js';
import type { PrivateSigningKey } from './types.js';

/** The PEM label cosign writes since v2 (and we write); cosign still reads the older `ENCRYPTED COSIGN PRIVATE KEY`. */
export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

/**
 * The key as cosign's `cosign.key`: its PKCS#8 DER sealed with nacl/secretbox under scrypt(password) (N=65536, r=8,
 * p=1 unless `scryptN` says 32768 or 131072), as JSON in an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM block.
 * An empty password is allowed here; deciding whether one is acceptable is the caller's job.
 */
export async function encryptCosignPrivateKey(key: PrivateSigningKey, password: string, options: { scryptN?: number } = {}): Promise<string> {
  if (typeof password !== 'string') throw new TollgateError('USAGE', 'the key password must be a string (empty is allowed)');
  if (algorithmOfKeyObject(key.privateKey, 'the key to encrypt') !== key.algorithm) {
    throw new TollgateError('USAGE', `the key to encrypt is not the ${key.algorithm} key it claims to be`);
  }
  const pkcs8 = key.privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const json = await sealCosignEnvelope(pkcs8, password, options.scryptN ?? DEFAULT_COSIGN_SCRYPT_N);
    return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(json, 'utf8'));
  } finally {
    pkcs8.fill(0);
  }
}
