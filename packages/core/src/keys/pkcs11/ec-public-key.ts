import { createPublicKey, type KeyObject } from 'node:crypto';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { KeyAlgorithm } from '../types.js';

/** DER of the named-curve OIDs PKCS#11 gives as CKA_EC_PARAMS. */
const CURVES: Record<string, KeyAlgorithm> = {
  '06082a8648ce3d030107': 'ecdsa-p256',
  '06052b81040022': 'ecdsa-p384',
};
const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/**
 * The public key of an EC key object from its CKA_EC_PARAMS (a named curve: P-256 or P-384) and CKA_EC_POINT (the
 * uncompressed point, DER OCTET STRING-wrapped as the standard says, or bare as some modules give it).
 */
export function ecPublicKey(params: Buffer, point: Buffer, what: string): { algorithm: KeyAlgorithm; publicKey: KeyObject } {
  const algorithm = CURVES[params.toString('hex')];
  if (algorithm === undefined) throw new TollgateError('UNSUPPORTED_KEY', `${what} is on a curve tollgate does not sign with; use an ECDSA P-256 key (cosign's default) or P-384`);
  let raw = point;
  if (raw[0] === 0x04 && raw.length > 2 && raw[1] === raw.length - 2 && raw[2] === 0x04) raw = raw.subarray(2);
  else if (raw[0] === 0x04 && raw[1] === 0x81 && raw[2] === raw.length - 3) raw = raw.subarray(3);
  const expected = algorithm === 'ecdsa-p256' ? 65 : 97;
  if (raw.length !== expected || raw[0] !== 0x04) throw new TollgateError('INVALID_KEY', `${what}: the token gave an EC point that is not an uncompressed ${algorithm === 'ecdsa-p256' ? 'P-256' : 'P-384'} point`);
  const spki = der(0x30, der(0x30, EC_PUBLIC_KEY_OID, params), der(0x03, Buffer.from([0]), raw));
  try {
    return { algorithm, publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
  } catch (error) {
    throw new TollgateError('INVALID_KEY', `${what}: the token's EC point is not on the curve`, { cause: error });
  }
}

/** A raw `r || s` ECDSA signature (what CKM_ECDSA returns) as the DER SEQUENCE cosign and Sigstore use. */
export function rawToDerSignature(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new TollgateError('PKCS11_ERROR', `the token returned a ${raw.length}-byte ECDSA signature, which is not r || s`);
  const integer = (bytes: Uint8Array): Buffer => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = Buffer.from(bytes.subarray(start));
    return der(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
  };
  const half = raw.length / 2;
  return new Uint8Array(der(0x30, integer(raw.subarray(0, half)), integer(raw.subarray(half))));
}
