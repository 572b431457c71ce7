import { TollgateError } from '../errors/tollgate-error.js';
import { unsupported } from './algorithm.js';
import { openCosignEnvelope } from './cosign-envelope.js';
import { COSIGN_PRIVATE_KEY_LABEL, SIGSTORE_PRIVATE_KEY_LABEL } from './cosign-key.js';
import { keyObjectFromJwk } from './jwk.js';
import { keyInputText } from './key-input.js';
import { parsePemBlocks, type PemBlock } from './pem.js';
import { privateKeyFromPkcs8, privateKeyFromSec1, signingKeyFromKeyObject } from './private-key-object.js';
import type { PrivateSigningKey } from './types.js';

const WHAT = 'the private key';

/**
 * Reads a private key: a cosign key (`ENCRYPTED SIGSTORE PRIVATE KEY` or the older `ENCRYPTED COSIGN PRIVATE KEY`,
 * needs `password`; an empty string is a valid password), a plain PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`
 * PEM, or a private JWK. Only ECDSA P-256/P-384 and Ed25519 keys are accepted. Errors: INVALID_KEY,
 * UNSUPPORTED_KEY, PASSWORD_REQUIRED, WRONG_PASSWORD.
 */
export async function readPrivateKey(input: string | Uint8Array, password?: string): Promise<PrivateSigningKey> {
  const text = keyInputText(input, WHAT);
  if (text.trimStart().startsWith('{')) return signingKeyFromKeyObject(keyObjectFromJwk(text, 'private', WHAT), WHAT);
  const block = singleKeyBlock(parsePemBlocks(text, WHAT));
  switch (block.label) {
    case SIGSTORE_PRIVATE_KEY_LABEL:
    case COSIGN_PRIVATE_KEY_LABEL: {
      if (password === undefined) {
        throw new TollgateError('PASSWORD_REQUIRED', `${WHAT} is encrypted: set TOLLGATE_PASSWORD or COSIGN_PASSWORD to its password (empty allowed)`);
      }
      const pkcs8 = await openCosignEnvelope(block.der, password, WHAT);
      try {
        return privateKeyFromPkcs8(pkcs8, WHAT, true);
      } finally {
        pkcs8.fill(0);
      }
    }
    case 'PRIVATE KEY':
      return privateKeyFromPkcs8(block.der, WHAT, false);
    case 'EC PRIVATE KEY':
      return privateKeyFromSec1(block.der, WHAT);
    case 'RSA PRIVATE KEY':
      throw unsupported(WHAT, 'an RSA key');
    case 'ENCRYPTED PRIVATE KEY':
      throw new TollgateError('INVALID_KEY', `${WHAT} is a password-protected PKCS#8 (OpenSSL) key, which tollgate does not read; use a cosign key, or decrypt it with \`openssl pkcs8 -in <key>\``);
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      throw new TollgateError('INVALID_KEY', `${WHAT} is a public key; a private key is needed here (e.g. cosign.key, not cosign.pub)`);
    case 'CERTIFICATE':
      throw new TollgateError('INVALID_KEY', `${WHAT} is a certificate; a private key is needed here`);
    default:
      throw new TollgateError(
        'INVALID_KEY',
        `${WHAT} has PEM label "${block.label}", which tollgate does not read; give a cosign key (${SIGSTORE_PRIVATE_KEY_LABEL}), a PKCS#8 PRIVATE KEY, an EC PRIVATE KEY or a JWK`,
      );
  }
}

/** The one key block of a file; OpenSSL's `EC PARAMETERS` companion block is skipped. */
export function singleKeyBlock(blocks: PemBlock[], what = WHAT): PemBlock {
  const keys = blocks.filter((b) => b.label !== 'EC PARAMETERS');
  if (keys.length === 0) throw new TollgateError('INVALID_KEY', `${what} is neither PEM nor a JSON Web Key; give a key file such as cosign.key or cosign.pub`);
  if (keys.length > 1) throw new TollgateError('INVALID_KEY', `${what} holds ${keys.length} PEM blocks (${keys.map((b) => b.label).join(', ')}); give one key per file`);
  return keys[0]!;
}
