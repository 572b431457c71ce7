import { createPublicKey, type KeyObject } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';
import { unsupported } from './algorithm.js';
import { keyObjectFromJwk } from './jwk.js';
import { keyInputText } from './key-input.js';
import { parsePemBlocks } from './pem.js';
import { publicVerificationKey } from './public-key.js';
import { singleKeyBlock } from './read-private-key.js';
import type { PublicVerificationKey } from './types.js';

const WHAT = 'the public key';

/**
 * Reads a public key: an SPKI `PUBLIC KEY` PEM (cosign.pub) or a public JWK. Only ECDSA P-256/P-384 and Ed25519
 * are accepted; the SPKI must be canonical DER (no trailing bytes, uncompressed point), as Go's parser requires.
 * A private key or a certificate is refused with a message saying what to give instead. Errors: INVALID_KEY,
 * UNSUPPORTED_KEY.
 */
export function readPublicKey(input: string | Uint8Array): PublicVerificationKey {
  const text = keyInputText(input, WHAT);
  if (text.trimStart().startsWith('{')) return publicVerificationKey(keyObjectFromJwk(text, 'public', WHAT), WHAT);
  const block = singleKeyBlock(parsePemBlocks(text, WHAT), WHAT);
  switch (block.label) {
    case 'PUBLIC KEY': {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
      } catch (error) {
        throw new TollgateError('INVALID_KEY', `${WHAT} is not a valid SubjectPublicKeyInfo; the file is corrupt`, { cause: error });
      }
      const parsed = publicVerificationKey(key, WHAT);
      if (!Buffer.from(parsed.spkiDer).equals(block.der)) {
        throw new TollgateError('INVALID_KEY', `${WHAT} is not canonical DER (trailing bytes or a compressed point); re-export it with \`openssl pkey -pubin -pubout\``);
      }
      return parsed;
    }
    case 'RSA PUBLIC KEY':
      throw unsupported(WHAT, 'an RSA key');
    case 'CERTIFICATE':
      throw new TollgateError('INVALID_KEY', `${WHAT} is a certificate; give its public key (\`openssl x509 -pubkey -noout -in <cert>\`)`);
    case 'ENCRYPTED SIGSTORE PRIVATE KEY':
    case 'ENCRYPTED COSIGN PRIVATE KEY':
    case 'PRIVATE KEY':
    case 'EC PRIVATE KEY':
    case 'RSA PRIVATE KEY':
    case 'ENCRYPTED PRIVATE KEY':
      throw new TollgateError('INVALID_KEY', `${WHAT} is a private key; give the public key (cosign.pub), which \`tollgate public-key --key <file>\` prints`);
    default:
      throw new TollgateError('INVALID_KEY', `${WHAT} has PEM label "${block.label}", which is not a key; give a PUBLIC KEY PEM (cosign.pub) or a public JWK`);
  }
}
