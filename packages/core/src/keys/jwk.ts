import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { TollgateError, isTollgateError } from '../errors/tollgate-error.js';
import { parseStrictJson } from '../json/strict-json.js';
import { unsupported } from './algorithm.js';
import type { KeyAlgorithm } from './types.js';

interface CurveSpec {
  algorithm: KeyAlgorithm;
  kty: 'EC' | 'OKP';
  bytes: number;
  alg: readonly string[];
}

const CURVES: Record<string, CurveSpec> = {
  'P-256': { algorithm: 'ecdsa-p256', kty: 'EC', bytes: 32, alg: ['ES256'] },
  'P-384': { algorithm: 'ecdsa-p384', kty: 'EC', bytes: 48, alg: ['ES384'] },
  Ed25519: { algorithm: 'ed25519', kty: 'OKP', bytes: 32, alg: ['EdDSA', 'Ed25519'] },
};

/**
 * A JWK (RFC 7517/7518/8037) as a KeyObject. Fields are checked before the key is built: a supported `kty`/`crv`,
 * coordinates and `d` of the curve's exact size in unpadded base64url, an `alg` (if any) that fits the curve, and
 * `d` present exactly when a private key is wanted, so a private JWK is never taken where a public one is expected.
 */
export function keyObjectFromJwk(text: string, want: 'private' | 'public', what: string): KeyObject {
  let doc: unknown;
  try {
    doc = parseStrictJson(text, `${what} (JWK)`, { maxDepth: 4 });
  } catch (error) {
    if (isTollgateError(error)) throw new TollgateError('INVALID_KEY', `${error.message}; give a PEM key or a JSON Web Key`, { cause: error });
    throw error;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(what, 'is JSON but not a JSON Web Key object');
  const jwk = doc as Record<string, unknown>;
  if ('keys' in jwk) throw invalid(what, 'is a JWK set; give a single key');
  const { kty, crv } = jwk;
  if (typeof kty !== 'string') throw invalid(what, 'has no "kty"');
  if (kty === 'RSA') throw unsupported(what, 'an RSA JWK');
  if (kty === 'oct') throw invalid(what, 'is a symmetric (oct) JWK, not a signing key pair');
  if (kty !== 'EC' && kty !== 'OKP') throw unsupported(what, `a JWK of kty ${JSON.stringify(kty.slice(0, 20))}`);
  if (typeof crv !== 'string') throw invalid(what, 'has no "crv"');
  const spec = CURVES[crv];
  if (spec === undefined || spec.kty !== kty) throw unsupported(what, `a ${kty} JWK on curve ${JSON.stringify(crv.slice(0, 20))}`);
  if (jwk.alg !== undefined && !spec.alg.includes(jwk.alg as string)) {
    throw invalid(what, `declares "alg" ${JSON.stringify(String(jwk.alg).slice(0, 20))}, which does not fit curve ${crv} (expected ${spec.alg.join(' or ')})`);
  }
  const clean: JsonWebKey = { kty, crv, x: coordinate(jwk.x, 'x', spec.bytes, what) };
  if (kty === 'EC') clean.y = coordinate(jwk.y, 'y', spec.bytes, what);
  const hasPrivate = jwk.d !== undefined;
  if (want === 'public' && hasPrivate) {
    throw new TollgateError('INVALID_KEY', `${what} is a private JWK (it has "d"); give the public key only, never share the private one`);
  }
  if (want === 'private' && !hasPrivate) throw new TollgateError('INVALID_KEY', `${what} is a public JWK (no "d"); a private key is needed here`);
  try {
    if (want === 'public') return createPublicKey({ key: clean, format: 'jwk' });
    clean.d = coordinate(jwk.d, 'd', spec.bytes, what);
    return createPrivateKey({ key: clean, format: 'jwk' });
  } catch (error) {
    if (isTollgateError(error)) throw error;
    throw invalid(what, `is not a valid ${crv} key (${(error as Error).message})`);
  }
}

function coordinate(value: unknown, name: string, bytes: number, what: string): string {
  if (typeof value !== 'string') throw invalid(what, `has no "${name}" string`);
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw invalid(what, `"${name}" is not unpadded base64url`);
  const decoded = Buffer.from(value, 'base64url');
  if (decoded.toString('base64url') !== value) throw invalid(what, `"${name}" is not canonical base64url`);
  if (decoded.length !== bytes) throw invalid(what, `"${name}" is ${decoded.length} bytes, not ${bytes}`);
  return value;
}

function invalid(what: string, detail: string): TollgateError {
  return new TollgateError('INVALID_KEY', `${what} ${detail}`);
}
