import { TollgateError } from '../../errors/tollgate-error.js';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes unpadded base64url (RFC 7515 §2) strictly: only the url-safe alphabet, no padding, and the canonical
 * encoding only (unused trailing bits zero), so one envelope has exactly one textual form.
 */
export function decodeBase64Url(text: string, what: string): Buffer {
  if (!BASE64URL.test(text) || text.length % 4 === 1) {
    throw new TollgateError('INVALID_BUNDLE', `${what} is not base64url (RFC 7515: A-Z a-z 0-9 - _ without padding); the envelope is corrupt`);
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) {
    throw new TollgateError('INVALID_BUNDLE', `${what} is not canonical base64url (non-zero trailing bits); the envelope is corrupt`);
  }
  return bytes;
}

/** Decodes padded standard base64 (x5c entries, RFC 7515 §4.1.6) strictly and canonically. */
export function decodeBase64(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new TollgateError('INVALID_BUNDLE', `${what} is not padded base64; the envelope is corrupt`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) {
    throw new TollgateError('INVALID_BUNDLE', `${what} is not canonical base64; the envelope is corrupt`);
  }
  return bytes;
}
