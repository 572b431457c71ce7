import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';

/** A public key to verify a keyed bundle with: a KeyObject, a `PUBLIC KEY` PEM (text or bytes), or SPKI DER. */
export type PublicKeySource = KeyObject | string | Uint8Array;

/** A public key and, optionally, when it may be used: a signature whose timestamp falls outside is rejected. */
export interface PublicKeyWithValidity {
  publicKey: PublicKeySource;
  validFor?: { start?: Date; end?: Date };
}

export type VerificationKeyInput = PublicKeySource | PublicKeyWithValidity;

export interface ResolvedVerificationKey {
  key: KeyObject;
  /** sha256 of the SPKI DER, lowercase hex. */
  keyId: string;
  validFor: { start?: Date; end?: Date };
}

const MAX_KEY_BYTES = 64 * 1024;

export function resolveVerificationKey(input: VerificationKeyInput, what = 'public key'): ResolvedVerificationKey {
  const withValidity = typeof input === 'object' && !(input instanceof KeyObject) && !(input instanceof Uint8Array);
  const source = withValidity ? input.publicKey : input;
  const validFor = withValidity ? (input.validFor ?? {}) : {};
  const key = toKeyObject(source, what);
  const spki = key.export({ type: 'spki', format: 'der' });
  return { key, keyId: createHash('sha256').update(spki).digest('hex'), validFor };
}

function toKeyObject(source: PublicKeySource, what: string): KeyObject {
  if (source instanceof KeyObject) {
    if (source.type === 'public') return source;
    if (source.type === 'private') return createPublicKey(source);
    throw invalid(what, 'is a secret key, not a public key');
  }
  const size = typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength;
  if (size === 0 || size > MAX_KEY_BYTES) throw invalid(what, `is ${size} bytes; a public key is between 1 byte and ${MAX_KEY_BYTES}`);
  const text = typeof source === 'string' ? source : Buffer.from(source).toString('latin1');
  try {
    if (typeof source === 'string' || text.includes('-----BEGIN')) {
      if (!/-----BEGIN PUBLIC KEY-----/.test(text)) throw new Error('expected a "PUBLIC KEY" PEM block');
      return createPublicKey({ key: text, format: 'pem' });
    }
    return createPublicKey({ key: Buffer.from(source as Uint8Array), format: 'der', type: 'spki' });
  } catch (error) {
    throw invalid(what, `does not parse as a PUBLIC KEY PEM or SPKI DER (${error instanceof Error ? error.message : String(error)})`);
  }
}

function invalid(what: string, detail: string): TollgateError {
  return new TollgateError('INVALID_KEY', `${what} ${detail}; give the signer's public key (cosign.pub)`);
}
