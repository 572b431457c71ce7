import { randomBytes, scrypt } from 'node:crypto';
import { TollgateError, isTollgateError } from '../errors/tollgate-error.js';
import { parseStrictJson } from '../json/strict-json.js';
import { loadNacl } from './load-nacl.js';

/**
 * cosign's encrypted private key body (go-securesystemslib `encrypted`): JSON
 * `{"kdf":{"name":"scrypt","params":{"N":…,"r":8,"p":1},"salt":b64},"cipher":{"name":"nacl/secretbox","nonce":b64},"ciphertext":b64}`
 * where the secretbox key is scrypt(password, salt, N, r, p, 32 bytes) and base64 is standard with padding (Go's
 * encoding of []byte). The ciphertext is secretbox's output: 16-byte Poly1305 tag, then the encrypted bytes.
 */
export const COSIGN_SCRYPT_N_VALUES: readonly number[] = [32768, 65536, 131072];
export const DEFAULT_COSIGN_SCRYPT_N = 65536;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 32;
/** nacl.secretbox's (XSalsa20-Poly1305) key, nonce and tag sizes, written out so tweetnacl loads only to seal or open; a test pins them. */
export const SECRETBOX_KEY_BYTES = 32;
export const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_TAG_BYTES = 16;
/** 128 * N * r for the largest N is 128 MiB; leave room for Node's own accounting. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;

interface EnvelopeParams {
  N: number;
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** Encrypts `plaintext` (a PKCS#8 DER) under `password` and returns the JSON text cosign puts inside its PEM. */
export async function sealCosignEnvelope(plaintext: Uint8Array, password: string, N: number = DEFAULT_COSIGN_SCRYPT_N): Promise<string> {
  if (!COSIGN_SCRYPT_N_VALUES.includes(N)) {
    throw new TollgateError('USAGE', `scrypt N=${N} is not one cosign reads; use one of ${COSIGN_SCRYPT_N_VALUES.join(', ')}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(SECRETBOX_NONCE_BYTES);
  const nacl = await loadNacl();
  const key = await deriveKey(password, salt, N);
  const ciphertext = nacl.secretbox(plaintext, nonce, key);
  key.fill(0);
  // Field order and names as Go's json.Marshal writes go-securesystemslib's structs.
  return JSON.stringify({
    kdf: { name: 'scrypt', params: { N, r: SCRYPT_R, p: SCRYPT_P }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
}

/**
 * Decrypts a cosign key body. Every field is checked (names, types, KDF parameters, salt and nonce sizes) before
 * scrypt runs, so a hostile file cannot make us spend unbounded memory or time; a failed secretbox open means a
 * wrong password or a corrupted key, and the two cannot be told apart.
 */
export async function openCosignEnvelope(body: Uint8Array, password: string, what: string): Promise<Buffer> {
  const params = parseEnvelope(body, what);
  const nacl = await loadNacl();
  const key = await deriveKey(password, params.salt, params.N);
  const plaintext = nacl.secretbox.open(params.ciphertext, params.nonce, key);
  key.fill(0);
  if (plaintext === null) {
    throw new TollgateError('WRONG_PASSWORD', `${what}: wrong password or corrupted key (decryption failed); check TOLLGATE_PASSWORD or COSIGN_PASSWORD`);
  }
  return Buffer.from(plaintext);
}

function parseEnvelope(body: Uint8Array, what: string): EnvelopeParams {
  let doc: unknown;
  try {
    doc = parseStrictJson(body, `${what} (encrypted key JSON)`, { maxDepth: 8 });
  } catch (error) {
    if (isTollgateError(error)) throw new TollgateError('INVALID_KEY', `${error.message}; the key file is corrupt`, { cause: error });
    throw error;
  }
  const root = object(doc, 'the encrypted key', what);
  const kdf = object(root.kdf, '"kdf"', what);
  const cipher = object(root.cipher, '"cipher"', what);
  if (kdf.name !== 'scrypt') throw bad(what, `key derivation ${describe(kdf.name)} is not "scrypt", the only one cosign writes`);
  if (cipher.name !== 'nacl/secretbox') throw bad(what, `cipher ${describe(cipher.name)} is not "nacl/secretbox", the only one cosign writes`);
  const params = object(kdf.params, '"kdf.params"', what);
  const { N, r, p } = params;
  if (!(typeof N === 'number' && COSIGN_SCRYPT_N_VALUES.includes(N) && r === SCRYPT_R && p === SCRYPT_P)) {
    throw bad(
      what,
      `scrypt parameters N=${describe(N)}, r=${describe(r)}, p=${describe(p)} are not ones cosign writes (N ${COSIGN_SCRYPT_N_VALUES.join(', ')} with r=8, p=1); refusing to run the key derivation`,
    );
  }
  const salt = base64Field(kdf.salt, '"kdf.salt"', what);
  if (salt.length !== SALT_BYTES) throw bad(what, `the salt is ${salt.length} bytes, not ${SALT_BYTES}`);
  const nonce = base64Field(cipher.nonce, '"cipher.nonce"', what);
  if (nonce.length !== SECRETBOX_NONCE_BYTES) throw bad(what, `the nonce is ${nonce.length} bytes, not ${SECRETBOX_NONCE_BYTES}`);
  const ciphertext = base64Field(root.ciphertext, '"ciphertext"', what);
  if (ciphertext.length <= SECRETBOX_TAG_BYTES) throw bad(what, `the ciphertext is ${ciphertext.length} bytes, too short to hold a key`);
  return { N, salt, nonce, ciphertext };
}

function deriveKey(password: string, salt: Uint8Array, N: number): Promise<Buffer> {
  if (typeof password !== 'string') throw new TollgateError('USAGE', 'the key password must be a string');
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, SECRETBOX_KEY_BYTES, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem: SCRYPT_MAXMEM }, (error, key) =>
      error ? reject(new TollgateError('INVALID_KEY', `key derivation (scrypt N=${N}) failed: ${error.message}`, { cause: error })) : resolve(key),
    );
  });
}

function object(value: unknown, name: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(what, `${name} is missing or not an object`);
  return value as Record<string, unknown>;
}

function base64Field(value: unknown, name: string, what: string): Buffer {
  if (typeof value !== 'string') throw bad(what, `${name} is missing or not a string`);
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(what, `${name} is not standard base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw bad(what, `${name} is not canonical base64`);
  return bytes;
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === undefined ? '(missing)' : `(${Array.isArray(value) ? 'array' : typeof value})`;
}

function bad(what: string, detail: string): TollgateError {
  return new TollgateError('INVALID_KEY', `${what}: ${detail}; the key file is corrupt or not a cosign key`);
}
