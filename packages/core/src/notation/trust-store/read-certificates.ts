import { X509Certificate } from 'node:crypto';
import { TollgateError } from '../../errors/tollgate-error.js';

export const MAX_CERTIFICATES_PER_FILE = 256;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(what: string, message: string): TollgateError {
  return new TollgateError('INVALID_TRUST_STORE', `${what}: ${message}`);
}

/**
 * The certificates of a trust-store file: one or more PEM `CERTIFICATE` blocks, or a single DER certificate (the
 * formats notation accepts for .pem/.crt/.cer). Anything else, a truncated block or an undecodable certificate
 * is an error naming the file.
 */
export function readCertificates(bytes: Uint8Array, what: string): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN')) {
    try {
      return [new X509Certificate(Buffer.from(bytes))];
    } catch (error) {
      throw invalid(what, `neither PEM nor a DER certificate (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const certificates: X509Certificate[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    const label = match[1]!;
    const end = `-----END ${label}-----`;
    const bodyStart = match.index + match[0].length;
    const endAt = text.indexOf(end, bodyStart);
    if (endAt < 0) throw invalid(what, `the PEM block "${label}" has no END line; the file is truncated`);
    begin.lastIndex = endAt + end.length;
    if (label !== 'CERTIFICATE') throw invalid(what, `holds a "${label}" PEM block; a trust store holds certificates only`);
    if (certificates.length === MAX_CERTIFICATES_PER_FILE) throw invalid(what, `holds more than ${MAX_CERTIFICATES_PER_FILE} certificates`);
    const body = text.slice(bodyStart, endAt).replace(/[ \t\r\n]/g, '');
    if (body.length === 0 || body.length % 4 !== 0 || !BASE64_BODY.test(body)) throw invalid(what, 'a CERTIFICATE block is not valid base64');
    try {
      certificates.push(new X509Certificate(Buffer.from(body, 'base64')));
    } catch (error) {
      throw invalid(what, `a CERTIFICATE block cannot be decoded (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (certificates.length === 0) throw invalid(what, 'holds no certificate');
  return certificates;
}
